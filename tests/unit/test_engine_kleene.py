"""Missing values in the engine (RULES.md "Missing values"): unknown, never false.

A rule fires only when its `when` is true; one left unknown does not fire and is listed
as undecided with the inputs it lacked, without raising the level.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from helpers import NOW, hours_before, make_pathway, reading, system_reasons

import triage
from triage import Level, Undecided

CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "contract" / "pathways"
RULES = Path(__file__).resolve().parents[2] / "rules"

BP = """
    thresholds:
      severe_systolic: {value: 180, min: 150, max: 220}
      severe_diastolic: {value: 110, min: 90, max: 130}
    inputs:
      systolic: {observation: systolic}
      diastolic: {observation: diastolic}
      weight: {observation: weight}
      wants_contact: {answer: wants-contact, type: boolean}
      seizures: {answer: seizure-count, type: number, required: true}
    derived:
      severe: systolic >= severe_systolic or diastolic >= severe_diastolic
      pressure: systolic + diastolic
      pressure_double: pressure * 2
    rules:
      - id: severe-bp
        when: systolic >= severe_systolic or diastolic >= severe_diastolic
        level: red
        say: "Blodtrykk {systolic}/{diastolic}"
      - id: both-high
        when: systolic >= 140 and diastolic >= 90
        level: yellow
      - id: severe-derived
        when: severe
        level: red
      - id: pressure
        when: wants_contact or pressure_double > 1000
        level: yellow
      - id: no-contact
        when: not wants_contact
        level: yellow
      - id: heavy
        when: weight > 150
        level: yellow
"""
PATHWAY = make_pathway(BP)


def run(
    pathway: triage.Pathway = PATHWAY,
    answers: dict[str, object] | None = None,
    **readings: float,
) -> triage.Result:
    unit = {"weight": "kg"}
    return triage.evaluate(
        pathway,
        answers={"seizure-count": 0, **(answers or {})},
        readings=[reading(n, v, NOW, unit=unit.get(n, "mm[Hg]")) for n, v in readings.items()],
        now=NOW,
    )


def statuses(result: triage.Result) -> dict[str, str]:
    return {t.id: t.status for t in result.rules}


def test_or_fires_on_one_side_true_with_the_other_missing() -> None:
    result = run(systolic=210)
    assert "severe-bp" in result.fired
    assert result.level == Level.RED
    assert [r.text for r in result.reasons if r.rule == "severe-bp"] == ["Blodtrykk 210/–"]


def test_or_with_the_known_side_false_is_undecided_and_does_not_raise_the_level() -> None:
    result = run(systolic=120, answers={"wants-contact": True})
    assert statuses(result)["severe-bp"] == "undecided"
    assert result.level == Level.YELLOW  # `pressure` fired on wants_contact, nothing more
    assert result.fired == ("pressure",)
    assert not system_reasons(result)
    severe = next(u for u in result.undecided if u.rule == "severe-bp")
    assert severe == Undecided(
        rule="severe-bp",
        level=Level.RED,
        when="systolic >= severe_systolic or diastolic >= severe_diastolic",
        lacking=("diastolic",),
        text="Ikke avgjort: severe-bp mangler diastolic",
    )


def test_and_with_one_side_false_is_not_fired_not_undecided() -> None:
    result = run(systolic=120)
    assert statuses(result)["both-high"] == "not-fired"
    assert statuses(run(systolic=150))["both-high"] == "undecided"


def test_not_of_a_missing_answer_is_undecided() -> None:
    result = run(systolic=120, diastolic=70)
    assert statuses(result)["no-contact"] == "undecided"
    assert "no-contact" not in result.fired


def test_a_derived_or_is_known_with_one_side_missing() -> None:
    result = run(systolic=200)
    derived = {t.name: t.value for t in result.derived}
    assert derived["severe"] is True
    assert "severe-derived" in result.fired


def test_a_derived_that_comes_out_unknown_is_missing() -> None:
    result = run(systolic=120)
    derived = {t.name: t.value for t in result.derived}
    assert derived["severe"] is None
    assert derived["pressure"] is None
    assert derived["pressure_double"] is None
    assert statuses(result)["severe-derived"] == "undecided"


def test_lacking_expands_missing_derived_names_into_the_inputs_behind_them() -> None:
    # pressure_double <- pressure <- systolic + diastolic; only diastolic is missing.
    result = run(systolic=120)
    undecided = {u.rule: u.lacking for u in result.undecided}
    assert undecided["pressure"] == ("wants_contact", "diastolic")  # order of first use
    assert undecided["severe-derived"] == ("diastolic",)
    assert undecided["heavy"] == ("weight",)
    [trace] = [t for t in result.rules if t.id == "pressure"]
    assert trace.detail == "missing: wants_contact, diastolic"


def test_copd_cat_total_with_one_item_missing_lacks_that_item() -> None:
    pathway = triage.load_pathway(RULES / "copd.yaml")
    answers = {f"cat-{i}": 2 for i in range(1, 9) if i != 3}
    result = triage.evaluate(pathway, answers=answers, now=NOW)
    by_rule = {u.rule: u for u in result.undecided}
    cat_rules = [r.id for r in pathway.rules if "cat_total" in r.when.names]
    assert cat_rules
    for rule in cat_rules:
        assert by_rule[rule].lacking == ("cat_3",)


def test_nothing_missing_gives_no_undecided_rules() -> None:
    result = run(systolic=120, diastolic=70, weight=80, answers={"wants-contact": False})
    assert result.undecided == ()
    assert "undecided" not in statuses(result).values()
    assert result.fired == ("no-contact",)


def test_required_inputs_still_raise_to_yellow() -> None:
    result = triage.evaluate(PATHWAY, answers={}, now=NOW)
    assert result.level == Level.YELLOW
    assert [r.kind for r in system_reasons(result)] == ["missing"]


def test_a_rule_that_errors_on_known_data_is_yellow_even_with_a_missing_name() -> None:
    pathway = make_pathway(
        """
        inputs:
          a: {answer: a, type: number}
          b: {answer: b, type: number}
          f: {answer: f, type: boolean}
        rules:
          - id: ratio
            when: a / b > 1 or f
            level: red
        """
    )
    result = triage.evaluate(pathway, answers={"a": 1, "b": 0}, now=NOW)
    assert result.level == Level.YELLOW
    [error] = system_reasons(result)
    assert error.kind == "error" and "division by zero" in error.text
    assert statuses(result)["ratio"] == "error"
    assert result.undecided == ()


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("nb", "Ikke avgjort: heavy mangler weight"),
        ("nn", "Ikkje avgjort: heavy manglar weight"),
        ("en", "Undecided: heavy lacks weight"),
    ],
)
def test_undecided_text_is_in_the_pathways_language(language: str, text: str) -> None:
    pathway = make_pathway(f"language: {language}\n" + BP.replace("\n    ", "\n"))
    result = run(pathway, systolic=120, diastolic=70, answers={"wants-contact": False})
    assert [u.text for u in result.undecided] == [text]


def test_to_dict_lists_undecided_rules() -> None:
    result = run(systolic=120, diastolic=70, answers={"wants-contact": False})
    data = json.loads(json.dumps(result.to_dict()))
    assert data["undecided"] == [
        {
            "rule": "heavy",
            "level": "yellow",
            "lacking": ["weight"],
            "text": "Ikke avgjort: heavy mangler weight",
        }
    ]
    assert (
        run(systolic=1, diastolic=1, weight=1, answers={"wants-contact": True}).to_dict()[
            "undecided"
        ]
        == []
    )


def test_a_heart_failure_weight_alone_is_not_yellow_for_want_of_blood_pressure() -> None:
    pathway = triage.load_pathway(CONTRACT / "heart-failure.yaml")
    result = triage.evaluate(
        pathway,
        readings=[reading("weight", 82.0, hours_before(24)), reading("weight", 82.2, NOW)],
        now=NOW,
    )
    assert result.level == Level.GREEN
    assert {u.rule for u in result.undecided} == {"low-blood-pressure", "low-oxygen", "high-pulse"}
    assert result.input_values["gain_3d"] == Decimal("0.2")


def test_the_fast_path_is_untouched_when_nothing_is_missing() -> None:
    # With every name present the engine must not take the three-valued plan at all.
    calls: list[str] = []
    for rule in PATHWAY.rules:
        original = rule.when.evaluate_kleene

        def spy(
            values: object, missing: object, _id: str = rule.id, _f: object = original
        ) -> object:
            calls.append(_id)
            return _f(values, missing)  # type: ignore[operator]

        object.__setattr__(rule.when, "evaluate_kleene", spy)
    try:
        run(systolic=120, diastolic=70, weight=80, answers={"wants-contact": False})
        assert calls == []
        run(systolic=120, diastolic=70, answers={"wants-contact": False})
        assert calls == ["heavy"]
    finally:
        for rule in PATHWAY.rules:
            object.__delattr__(rule.when, "evaluate_kleene")
