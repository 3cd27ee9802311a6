"""Required and optional inputs when they are missing, and derived values computed from inputs."""

from __future__ import annotations

from decimal import Decimal

from helpers import NOW, make_pathway, reading, reason_texts, system_reasons

import triage
from triage import Level

# -- required and missing ----------------------------------------------------------------

REQUIRED = make_pathway(
    """
    inputs:
      seizures: {answer: seizure-count, type: number, required: true}
      wants_contact: {answer: wants-contact, type: boolean}
      weight: {observation: weight, required: true}
    rules:
      - id: many-seizures
        when: seizures >= 3
        level: red
      - id: no-contact-wanted
        when: not wants_contact
        level: yellow
      - id: always-green
        when: "true"
        level: green
    """
)


def test_missing_required_answer_is_yellow_naming_the_input() -> None:
    result = triage.evaluate(
        REQUIRED,
        answers={"wants-contact": True},
        readings=[reading("weight", 80, NOW)],
        now=NOW,
    )
    assert result.level == Level.YELLOW
    [missing] = system_reasons(result)
    assert missing.kind == "missing"
    assert "seizures" in missing.text
    assert "seizure-count" in missing.text


def test_missing_required_reading_is_yellow_naming_the_input() -> None:
    result = triage.evaluate(REQUIRED, answers={"seizure-count": 0, "wants-contact": True}, now=NOW)
    assert result.level == Level.YELLOW
    assert any("weight" in r.text for r in system_reasons(result))


def test_missing_required_input_does_not_lower_a_red_result() -> None:
    result = triage.evaluate(REQUIRED, answers={"seizure-count": 5, "wants-contact": True}, now=NOW)
    assert result.level == Level.RED
    assert any("weight" in r.text for r in system_reasons(result))


def test_rule_using_a_missing_optional_input_does_not_fire() -> None:
    # `not wants_contact` would be true for a missing (null) value; it must not fire.
    result = triage.evaluate(
        REQUIRED, answers={"seizure-count": 0}, readings=[reading("weight", 80, NOW)], now=NOW
    )
    assert "no-contact-wanted" not in result.fired
    assert result.level == Level.GREEN
    assert not system_reasons(result)
    # Not skipped in silence: undecided, naming what it lacked, without raising the level.
    [trace] = [t for t in result.rules if t.id == "no-contact-wanted"]
    assert trace.status == "undecided"
    assert trace.detail == "missing: wants_contact"
    [undecided] = result.undecided
    assert (undecided.rule, undecided.lacking) == ("no-contact-wanted", ("wants_contact",))


# -- derived -----------------------------------------------------------------------------

DERIVED = make_pathway(
    """
    inputs:
      seizures: {answer: seizure-count, type: number}
      side_effects: {answer: side-effects, scores: {none: 0, mild: 1, severe: 2}}
      days: {answer: days, type: number}
    derived:
      burden: seizures + side_effects
      double_burden: burden * 2
      per_day: seizures / days
    rules:
      - id: heavy-burden
        when: double_burden >= 8
        level: red
        say: "byrde {burden}"
      - id: frequent
        when: per_day > 1
        level: yellow
    """
)


def test_derived_values_are_computed_in_order_and_chained() -> None:
    result = triage.evaluate(
        DERIVED, answers={"seizure-count": 3, "side-effects": "mild", "days": 10}, now=NOW
    )
    derived = {t.name: t.value for t in result.derived}
    assert derived == {
        "burden": Decimal(4),
        "double_burden": Decimal(8),
        "per_day": Decimal("0.3"),
    }
    assert result.fired == ("heavy-burden",)
    assert reason_texts(result) == ["byrde 4"]


def test_derived_from_a_missing_input_is_missing_and_its_rules_do_not_fire() -> None:
    result = triage.evaluate(DERIVED, answers={"seizure-count": 9, "days": 30}, now=NOW)
    derived = {t.name: t.value for t in result.derived}
    assert derived["burden"] is None
    assert derived["double_burden"] is None
    assert "heavy-burden" not in result.fired
    assert result.level == Level.GREEN


def test_derived_dividing_by_zero_is_yellow_with_the_error_as_reason() -> None:
    result = triage.evaluate(
        DERIVED, answers={"seizure-count": 2, "side-effects": "none", "days": 0}, now=NOW
    )
    assert result.level == Level.YELLOW
    [error] = system_reasons(result)
    assert error.kind == "error"
    assert "per_day" in error.text
    assert "zero" in error.text
    assert {t.name: t.value for t in result.derived}["per_day"] is None
