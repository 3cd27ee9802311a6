"""Reading the embedded tests of a pathway file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from triage.loading.context import FileContext, closest
from triage.model import AnswerInput, Input, PathwayTest, SampleReading, Threshold
from triage.yamlfile import item_pos, key_pos, value_pos

_TEST_KEYS = ("name", "answers", "observations", "thresholds", "expect", "expect_rules", "now")


def raw_test_answers(doc: dict[Any, Any]) -> list[Mapping[str, Any]]:
    """The answers each test gives, unchecked: used to see what type each answer has."""
    tests = doc.get("tests")
    if not isinstance(tests, list):
        return []
    return [
        t["answers"] for t in tests if isinstance(t, dict) and isinstance(t.get("answers"), dict)
    ]


def parse_time(value: Any) -> dt.datetime | None:
    """An ISO 8601 time with an offset (YAML may already have made it a datetime)."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return parsed if parsed.tzinfo is not None else None


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def read_tests(
    ctx: FileContext,
    doc: dict[Any, Any],
    inputs: Mapping[str, Input],
    thresholds: Mapping[str, Threshold],
    observation_names: Mapping[str, Any],
    rule_ids: list[str],
) -> list[PathwayTest]:
    out: list[PathwayTest] = []
    if doc.get("tests") is None:
        return out
    seq = ctx.seq(doc["tests"], "tests", value_pos(doc, "tests"))
    link_ids = [s.link_id for s in inputs.values() if isinstance(s, AnswerInput)]
    for i, raw in enumerate(seq or []):
        pos = item_pos(seq, i)
        node = ctx.mapping(raw, f"tests[{i + 1}]", pos)
        if node is None:
            continue
        name = str(node.get("name") or f"test {i + 1}")
        where = f"tests › {name}"
        ctx.keys(node, _TEST_KEYS, where)
        if not ctx.require(node, "expect", where, "expect: green"):
            continue
        expect = ctx.level(node, "expect")
        answers = _answers(ctx, node, where, link_ids)
        observations = _observations(ctx, node, where, observation_names)
        patient = _thresholds(ctx, node, where, thresholds)
        expect_rules = _expect_rules(ctx, node, where, rule_ids)
        now = None
        if node.get("now") is not None:
            now = parse_time(node["now"])
            if now is None:
                ctx.problem(value_pos(node, "now"), "test-bad-time", value=node["now"])
        if expect is not None:
            out.append(
                PathwayTest(name, answers, observations, patient, expect, expect_rules, now, pos[0])
            )
    return out


def _answers(
    ctx: FileContext, node: dict[Any, Any], where: str, link_ids: list[str]
) -> dict[str, Any]:
    if node.get("answers") is None:
        return {}
    raw = ctx.mapping(node["answers"], f"{where} › answers", value_pos(node, "answers"))
    answers: dict[str, Any] = {}
    for link_id, value in (raw or {}).items():
        if str(link_id) not in link_ids:
            ctx.problem(
                key_pos(raw, link_id),
                "test-unknown-answer",
                name=link_id,
                close=closest(str(link_id), link_ids),
            )
        answers[str(link_id)] = value.strip() if isinstance(value, str) else value
    return answers


def _observations(
    ctx: FileContext, node: dict[Any, Any], where: str, names: Mapping[str, Any]
) -> dict[str, list[SampleReading]]:
    if node.get("observations") is None:
        return {}
    raw = ctx.mapping(
        node["observations"], f"{where} › observations", value_pos(node, "observations")
    )
    out: dict[str, list[SampleReading]] = {}
    for obs_name, values in (raw or {}).items():
        if obs_name not in names:
            ctx.problem(
                key_pos(raw, obs_name),
                "unknown-observation",
                name=obs_name,
                close=closest(str(obs_name), names),
                known=", ".join(names) or "-",
            )
            continue
        seq = ctx.seq(values, f"{where} › observations › {obs_name}", value_pos(raw, obs_name))
        readings: list[SampleReading] = []
        for j, item in enumerate(seq or []):
            ipos = item_pos(seq, j)
            if isinstance(item, dict):
                ctx.keys(item, ("value", "at"), f"{where} › observations › {obs_name}")
                value = _number(item.get("value"))
                at = parse_time(item.get("at"))
                if item.get("at") is not None and at is None:
                    ctx.problem(value_pos(item, "at"), "test-bad-time", value=item.get("at"))
                    continue
            else:
                value, at = _number(item), None
            if value is None:
                ctx.problem(
                    ipos,
                    "not-a-number",
                    where=f"{where} › observations › {obs_name}",
                    got="text" if isinstance(item, str) else "empty",
                )
                continue
            readings.append(SampleReading(value, at))
        out[str(obs_name)] = readings
    return out


def _thresholds(
    ctx: FileContext, node: dict[Any, Any], where: str, thresholds: Mapping[str, Threshold]
) -> dict[str, Decimal]:
    if node.get("thresholds") is None:
        return {}
    raw = ctx.mapping(node["thresholds"], f"{where} › thresholds", value_pos(node, "thresholds"))
    out: dict[str, Decimal] = {}
    for name in raw or {}:
        threshold = thresholds.get(name)
        vpos = value_pos(raw, name)
        if threshold is None:
            ctx.problem(
                key_pos(raw, name),
                "test-unknown-threshold",
                name=name,
                close=closest(str(name), thresholds),
            )
            continue
        number = ctx.number(raw, name, f"{where} › thresholds › {name}")
        if number is None:
            continue
        if threshold.min is None or threshold.max is None:
            ctx.problem(vpos, "test-threshold-fixed", name=name)
        elif not threshold.min <= number <= threshold.max:
            ctx.problem(
                vpos,
                "test-threshold-outside",
                name=name,
                value=number,
                min=threshold.min,
                max=threshold.max,
            )
        else:
            out[name] = number
    return out


def _expect_rules(
    ctx: FileContext, node: dict[Any, Any], where: str, rule_ids: list[str]
) -> tuple[str, ...]:
    if node.get("expect_rules") is None:
        return ()
    seq = ctx.seq(node["expect_rules"], f"{where} › expect_rules", value_pos(node, "expect_rules"))
    out: list[str] = []
    for j, rule_id in enumerate(seq or []):
        if str(rule_id) not in rule_ids:
            ctx.problem(
                item_pos(seq, j),
                "test-unknown-rule",
                name=rule_id,
                close=closest(str(rule_id), rule_ids),
            )
        out.append(str(rule_id))
    return tuple(out)
