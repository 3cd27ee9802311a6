"""Reading the logic of a pathway file: the shared names, derived values, rules, otherwise."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from rule_engine import DataType
from rule_engine import ast as re_ast

from triage.expressions import (
    CompiledExpression,
    ExpressionError,
    compile_expression,
    engine_type,
    type_word,
)
from triage.loading.context import FileContext, closest
from triage.model import AnswerInput, Derived, Input, Otherwise, Rule, Threshold
from triage.problems import NB_PHRASES
from triage.yamlfile import item_pos, key_pos, value_pos

PLACEHOLDER = re.compile(r"\{([^{}]*)\}")

_KIND_WORDS = {"threshold": "a threshold", "input": "an input", "derived": "a derived value"}


def check_unique_names(ctx: FileContext, doc: dict[Any, Any]) -> None:
    """One namespace for thresholds, inputs and derived values: a name used twice is refused."""
    seen: list[tuple[tuple[int, int], str, str]] = []
    for section, kind in (("thresholds", "threshold"), ("inputs", "input"), ("derived", "derived")):
        node = doc.get(section)
        if isinstance(node, dict):
            seen.extend((key_pos(node, name), name, kind) for name in node)
    first: dict[str, tuple[tuple[int, int], str]] = {}
    for pos, name, kind in sorted(seen):
        if name in first:
            first_pos, first_kind = first[name]
            ctx.problem(
                pos,
                "name-twice",
                name=name,
                first_kind=_KIND_WORDS[first_kind],
                first_line=first_pos[0],
            )
        else:
            first[name] = (pos, kind)


def answer_types(
    inputs: Mapping[str, Input], test_answers: list[Mapping[str, Any]]
) -> dict[str, Any]:
    """Each answer input's type: declared, else the one kind the file's tests give it."""
    types: dict[str, Any] = {}
    for name, spec in inputs.items():
        if not isinstance(spec, AnswerInput):
            types[name] = engine_type("number")
            continue
        if spec.type != "any":
            types[name] = engine_type(spec.type)
            continue
        seen = {
            _kind(answers[spec.link_id])
            for answers in test_answers
            if spec.link_id in answers and answers[spec.link_id] is not None
        }
        types[name] = engine_type(seen.pop() if len(seen) == 1 else "any")
    return types


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    return "any"


_CHILDREN = ("left", "right", "expression", "member", "container", "condition")


def _subexpressions(node: Any) -> Iterator[Any]:
    yield node
    for attr in ("case_true", "case_false", *_CHILDREN):
        child = getattr(node, attr, None)
        if isinstance(child, re_ast.ExpressionBase):
            yield from _subexpressions(child)


def _mixed_equality(compiled: CompiledExpression) -> bool:
    """``==``/``!=`` between two known, different kinds (``scored == "severe"``).

    rule-engine accepts these and makes them always false (true for ``!=``): a rule
    that can never fire, so it is refused like ``<`` between a number and text.
    """
    for node in _subexpressions(compiled.rule.statement.expression):
        if isinstance(node, re_ast.ComparisonExpression) and node.type in ("eq", "ne"):
            left, right = node.left.result_type, node.right.result_type
            if DataType.NULL in (left, right):
                continue
            if not DataType.is_compatible(left, right):
                return True
    return False


def _compile(
    ctx: FileContext, node: Any, key: Any, where: str, types: Mapping[str, Any]
) -> CompiledExpression | None:
    text = node.get(key)
    if not isinstance(text, str):
        ctx.problem(
            value_pos(node, key),
            "not-text",
            where=where,
            got="number"
            if isinstance(text, int | float) and not isinstance(text, bool)
            else "empty"
            if text is None
            else "boolean",
        )
        return None
    try:
        compiled = compile_expression(text, types)
        if _mixed_equality(compiled):
            raise ExpressionError("type", "a comparison of two different kinds of value")
        return compiled
    except ExpressionError as exc:
        if exc.kind == "unknown-name":
            ctx.problem(
                ctx.expression_pos(node, key, exc.name),
                "unknown-name",
                name=exc.name,
                where=where,
                close=closest(exc.name or "", types),
                known=", ".join(types) or "-",
            )
        elif exc.kind == "type":
            kinds = [
                (n, type_word(types[n])) for n in types if re.search(rf"\b{re.escape(n)}\b", text)
            ]
            described = ", ".join(f"{n} is {word}" for n, word in kinds)
            described_nb = ", ".join(f"{n} er {NB_PHRASES.get(word, word)}" for n, word in kinds)
            ctx.problem(
                value_pos(node, key),
                "type-mismatch",
                expr=text.strip(),
                types=described or exc.detail,
                types_nb=described_nb or exc.detail,
            )
        else:
            ctx.problem(
                value_pos(node, key), "expression-syntax", expr=text.strip(), detail=exc.detail
            )
        return None


def read_derived(
    ctx: FileContext, doc: dict[Any, Any], types: dict[str, Any]
) -> dict[str, Derived]:
    """Derived values in file order; each may use the ones above it. Adds their types."""
    out: dict[str, Derived] = {}
    if doc.get("derived") is None:
        return out
    node = ctx.mapping(doc["derived"], "derived", value_pos(doc, "derived"))
    for name in node or {}:
        pos = key_pos(node, name)
        if not ctx.name_ok(name, pos):
            continue
        visible = {k: v for k, v in types.items() if k != name}
        compiled = _compile(ctx, node, name, f"derived › {name}", visible)
        if compiled is not None:
            out[name] = Derived(name, compiled, pos[0])
            types[name] = compiled.result_type
    return out


def check_placeholders(
    ctx: FileContext, node: dict[Any, Any], key: str, names: Mapping[str, Any]
) -> str | None:
    text = ctx.text(node, key, key)
    if text is None:
        return None
    for match in PLACEHOLDER.finditer(text):
        name = match.group(1).strip()
        if name not in names:
            ctx.problem(
                value_pos(node, key), "unknown-placeholder", name=name, close=closest(name, names)
            )
    return text.strip()


def read_rules(ctx: FileContext, doc: dict[Any, Any], types: Mapping[str, Any]) -> list[Rule]:
    rules: list[Rule] = []
    if not ctx.require(doc, "rules", "the file", "rules: [- id: ..., when: ..., level: red]"):
        return rules
    seq = ctx.seq(doc["rules"], "rules", value_pos(doc, "rules"))
    if seq is not None and not seq:
        ctx.problem(value_pos(doc, "rules"), "empty-list", where="rules")
    first_line: dict[str, int] = {}
    for i, raw in enumerate(seq or []):
        pos = item_pos(seq, i)
        node = ctx.mapping(raw, f"rules[{i + 1}]", pos)
        if node is None:
            continue
        rule_id = node.get("id")
        where = f"rules › {rule_id}" if rule_id else f"rules[{i + 1}]"
        ctx.keys(node, ("id", "when", "level", "say", "action", "patient_message"), where)
        present = [
            ctx.require(node, key, where, example)
            for key, example in (
                ("id", "id: many-seizures"),
                ("when", "when: seizures >= seizures_red"),
                ("level", "level: red"),
            )
        ]
        if rule_id is not None:
            rule_id = str(rule_id)
            if rule_id in first_line:
                ctx.problem(
                    value_pos(node, "id"),
                    "duplicate-rule-id",
                    id=rule_id,
                    first_line=first_line[rule_id],
                )
            else:
                first_line[rule_id] = value_pos(node, "id")[0]
        when = _compile(ctx, node, "when", f"{where} › when", types) if present[1] else None
        if when is not None and when.result_type_word not in ("true/false", "of any kind"):
            ctx.problem(
                value_pos(node, "when"),
                "when-not-boolean",
                expr=when.text.strip(),
                got=when.result_type_word,
            )
            when = None
        level = ctx.level(node, "level") if present[2] else None
        say = check_placeholders(ctx, node, "say", types) if "say" in node else None
        message = (
            check_placeholders(ctx, node, "patient_message", types)
            if "patient_message" in node
            else None
        )
        action = ctx.action(node, "action", where) if node.get("action") is not None else None
        if rule_id and when is not None and level is not None:
            rules.append(Rule(rule_id, when, level, say, action, message, pos[0], i))
    return rules


def read_otherwise(ctx: FileContext, doc: dict[Any, Any], names: Mapping[str, Any]) -> Otherwise:
    if doc.get("otherwise") is None:
        return Otherwise()
    node = ctx.mapping(doc["otherwise"], "otherwise", value_pos(doc, "otherwise"))
    if node is None:
        return Otherwise()
    ctx.keys(node, ("level", "action", "patient_message"), "otherwise")
    level = ctx.level(node, "level") if "level" in node else None
    action = ctx.action(node, "action", "otherwise") if node.get("action") is not None else None
    message = (
        check_placeholders(ctx, node, "patient_message", names)
        if "patient_message" in node
        else None
    )
    return Otherwise(
        level=level if level is not None else Otherwise().level,
        action=action,
        patient_message=message,
    )


def thresholds_types(thresholds: Mapping[str, Threshold]) -> dict[str, Any]:
    return {name: engine_type("number") for name in thresholds}
