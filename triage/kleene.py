"""Three-valued (Kleene) evaluation of a compiled expression, for when an input is missing.

A missing input is *unknown* (RULES.md, "Missing values"): ``and``, ``or`` and ``not``
follow three-valued logic and anything else that reads an unknown value is unknown.
rule-engine has no such value, so each expression also gets a small *plan*, built once
from rule-engine's tree by :func:`plan`: a function of (values, missing names) that
gives a value or :data:`UNKNOWN`. The engine uses the plan only when a name the
expression uses is missing, and rule-engine's own evaluation otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Set
from typing import Any, Final

from rule_engine import ast as re_ast

from triage.speedup import CHILD_ATTRS, FastSymbol

__all__ = ["UNKNOWN", "Plan", "plan"]


class _Unknown:
    """The type of :data:`UNKNOWN`: one instance, compared with ``is``."""

    __slots__ = ()
    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        # Treating unknown as false is exactly the silent "no" the contract forbids.
        raise TypeError("UNKNOWN is neither true nor false")

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = _Unknown()
"""The value of an expression that needs an input that is missing (neither true nor false)."""


class _Unread(Exception):
    """A missing name was read while a sub-expression was evaluated (never leaves this module)."""


class _Partial:
    """The values, where reading a missing name raises :class:`_Unread` instead of a value."""

    __slots__ = ("missing", "values")

    def __init__(self, values: Mapping[str, Any], missing: Set[str]) -> None:
        self.values = values
        self.missing = missing

    def __getitem__(self, name: str) -> Any:
        if name in self.missing:
            raise _Unread(name)
        return self.values[name]


# A three-valued plan: (values, missing names) -> a value, or UNKNOWN.
Plan = Callable[[Mapping[str, Any], Set[str]], Any]


def _names_under(node: Any) -> frozenset[str]:
    """The names a (sped-up) sub-tree reads."""
    if isinstance(node, FastSymbol | re_ast.SymbolExpression):
        return frozenset((node.name,))
    out: set[str] = set()
    for attr in CHILD_ATTRS:
        child = getattr(node, attr, None)
        if child is not None:
            out |= _names_under(child)
    return frozenset(out)


def plan(node: Any, fast: bool, all_names: frozenset[str]) -> Plan:
    """The three-valued plan of a rule-engine node (see the module docstring).

    ``fast``: the tree was sped up (:mod:`triage.speedup`), so a leaf can be tried
    against the values with the missing names unreadable; a leaf that never reads one (a
    short-circuit, the branch of a ternary not taken) is then known. Otherwise a leaf is
    unknown as soon as any name of the whole expression is missing: rule-engine's own
    symbol nodes resolve a missing name to null rather than failing, and an unknown value
    must never become null.
    """
    if isinstance(node, re_ast.Statement):
        return plan(node.expression, fast, all_names)
    if isinstance(node, re_ast.LogicExpression) and node.type in ("and", "or"):
        return _logic_plan(
            node.type, plan(node.left, fast, all_names), plan(node.right, fast, all_names)
        )
    if isinstance(node, re_ast.UnaryExpression) and node.type == "not":
        operand = plan(node.right, fast, all_names)

        def negation(values: Mapping[str, Any], missing: Set[str]) -> Any:
            value = operand(values, missing)
            return UNKNOWN if value is UNKNOWN else not value

        return negation
    if isinstance(node, re_ast.TernaryExpression):
        condition = plan(node.condition, fast, all_names)
        case_true = plan(node.case_true, fast, all_names)
        case_false = plan(node.case_false, fast, all_names)

        def ternary(values: Mapping[str, Any], missing: Set[str]) -> Any:
            chosen = condition(values, missing)
            if chosen is UNKNOWN:
                return UNKNOWN
            return (case_true if chosen else case_false)(values, missing)

        return ternary
    return _leaf_plan(node, fast, all_names)


def _logic_plan(kind: str, left: Plan, right: Plan) -> Plan:
    # Truthiness of a known side is rule-engine's own (Python's), so that with nothing
    # missing the answer is rule-engine's; the left side is evaluated first, as there.
    if kind == "and":

        def conjunction(values: Mapping[str, Any], missing: Set[str]) -> Any:
            a = left(values, missing)
            if a is not UNKNOWN and not a:
                return False
            b = right(values, missing)
            if b is not UNKNOWN and not b:
                return False
            return UNKNOWN if a is UNKNOWN or b is UNKNOWN else True

        return conjunction

    def disjunction(values: Mapping[str, Any], missing: Set[str]) -> Any:
        a = left(values, missing)
        if a is not UNKNOWN and a:
            return True
        b = right(values, missing)
        if b is not UNKNOWN and b:
            return True
        return UNKNOWN if a is UNKNOWN or b is UNKNOWN else False

    return disjunction


def _leaf_plan(node: Any, fast: bool, all_names: frozenset[str]) -> Plan:
    if isinstance(node, FastSymbol) or (
        isinstance(node, re_ast.SymbolExpression) and node.scope is None
    ):
        name = node.name  # values are in engine form already: no resolution to redo

        def symbol(values: Mapping[str, Any], missing: Set[str]) -> Any:
            return UNKNOWN if name in missing else values[name]

        return symbol
    if not fast:

        def opaque(values: Mapping[str, Any], missing: Set[str]) -> Any:
            if not missing.isdisjoint(all_names):
                return UNKNOWN
            return node.evaluate(values)

        return opaque
    names = _names_under(node)

    def leaf(values: Mapping[str, Any], missing: Set[str]) -> Any:
        if missing.isdisjoint(names):
            return node.evaluate(values)
        try:
            return node.evaluate(_Partial(values, missing))
        except _Unread:
            return UNKNOWN

    return leaf
