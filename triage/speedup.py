"""The fast path of an expression: rule-engine's symbol nodes swapped for direct lookups.

rule-engine resolves, type-checks and coerces every name on every evaluation, which costs
~80% of it. The engine already holds its values in rule-engine's types (``Decimal``,
``str``, ``bool``, ``datetime``), so once an expression is compiled its symbol nodes are
replaced with :class:`FastSymbol`, a plain lookup; rule-engine's operator nodes stay as
they are. A property test checks that this gives the same answers as
``rule_engine.Rule.evaluate``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rule_engine import ast as re_ast

__all__ = ["CHILD_ATTRS", "FastSymbol", "speed_up"]

# The attributes under which rule-engine's nodes hold their sub-expressions.
CHILD_ATTRS = (
    "left",
    "right",
    "expression",
    "member",
    "container",
    "condition",
    "case_true",
    "case_false",
)


class FastSymbol:
    """Stands in for a rule-engine ``SymbolExpression``: a plain lookup of a prepared value."""

    __slots__ = ("name", "result_type")

    def __init__(self, name: str, result_type: Any) -> None:
        self.name = name
        self.result_type = result_type

    def evaluate(self, thing: Mapping[str, Any]) -> Any:
        return thing[self.name]


def speed_up(node: Any) -> bool:
    """Swap symbol nodes for direct lookups; False if some node kind is not understood."""
    for attr in CHILD_ATTRS:
        child = getattr(node, attr, None)
        if child is None:
            continue
        if isinstance(child, re_ast.SymbolExpression):
            if child.scope is not None:
                return False
            setattr(node, attr, FastSymbol(child.name, child.result_type))
        elif isinstance(child, re_ast.ExpressionBase) and not speed_up(child):
            return False
    if isinstance(node, re_ast.LiteralExpressionBase):
        # Reduced literals hold plain values; an unreduced array may hold expressions.
        value = node.value
        if isinstance(value, tuple | list) and any(
            isinstance(v, re_ast.ExpressionBase) for v in value
        ):
            return False
    known = (
        re_ast.LiteralExpressionBase,
        re_ast.LogicExpression,
        re_ast.ComparisonExpression,
        re_ast.AddExpression,
        re_ast.SubtractExpression,
        re_ast.ArithmeticExpression,
        re_ast.UnaryExpression,
        re_ast.ContainsExpression,
        re_ast.TernaryExpression,
        re_ast.Statement,
        FastSymbol,
    )
    return isinstance(node, known)
