"""The level and reasons a clinician sees, and the action: the worst fired rule, the most
urgent action of that level, ``otherwise`` when nothing fires, and a rule that fails while
evaluated. (The pathway they evaluate is in seizures_pathway.py.)"""

from __future__ import annotations

import pytest
from helpers import NOW, make_pathway, pathway_text, reason_texts, system_reasons
from seizures_pathway import NO_NEED, REVIEW_WORDS, SEIZURES, run

import triage
from triage import Consultation, Level

# -- level, reasons, action --------------------------------------------------------------


def test_level_is_the_worst_fired_rule_and_reasons_are_worst_first() -> None:
    result = run({"seizure-count": 4, "wants-contact": True})
    assert result.level == Level.RED
    assert set(result.fired) == {"many-seizures", "some-seizures", "wants-contact"}
    levels = [reason.level for reason in result.reasons]
    assert levels == sorted(levels, reverse=True)
    assert reason_texts(result)[0] == "4 anfall (grense 3)"
    assert set(reason_texts(result)[1:]) == {"4 anfall", "Ønsker kontakt: ja"}


def test_only_yellow_rules_give_yellow() -> None:
    result = run({"seizure-count": 1})
    assert result.level == Level.YELLOW
    assert result.fired == ("some-seizures",)


@pytest.mark.parametrize(
    ("value", "shown"), [(0.55, "0,6"), (0.65, "0,7"), (0.625, "0,6"), (1.04, "1"), (0.5001, "0,5")]
)
def test_say_shows_numbers_with_at_most_one_decimal_and_a_decimal_comma(
    value: float, shown: str
) -> None:
    result = run({"seizure-count": 0, "ratio": value})
    assert reason_texts(result) == [f"Andel {shown}"]


def test_say_in_an_english_pathway_uses_a_decimal_point() -> None:
    pathway = triage.load_pathway_text(
        pathway_text(SEIZURES).replace("version: 1\n", "version: 1\nlanguage: en\n", 1)
    )
    result = triage.evaluate(
        pathway, answers={"seizure-count": 0, "ratio": 0.75, "wants-contact": True}, now=NOW
    )
    assert set(reason_texts(result)) == {"Andel 0.8", "Ønsker kontakt: yes"}


def test_action_is_the_most_urgent_among_rules_of_the_results_level() -> None:
    # some-seizures (yellow) wants contact within one day, but the red result's action
    # comes from the red rules only.
    result = run({"seizure-count": 5})
    assert result.level == Level.RED
    assert result.action is not None
    assert result.action.consultation == Consultation.PHONE
    assert result.action.within is not None and result.action.within.text == "P14D"


def test_action_shortest_deadline_wins_among_rules_of_one_level() -> None:
    result = run({"seizure-count": 5, "temperature": 39.0})
    assert result.action is not None
    assert result.action.to_dict() == {"consultation": "physical", "within": "P1D"}


def test_action_same_deadline_the_more_demanding_consultation_wins() -> None:
    pathway = make_pathway(
        """
        inputs:
          a: {answer: a, type: boolean}
          b: {answer: b, type: boolean}
          c: {answer: c, type: boolean}
        rules:
          - id: digital
            when: a
            level: yellow
            action: {consultation: digital, within: P7D}
          - id: video
            when: b
            level: yellow
            action: {consultation: video, within: P7D}
          - id: no-deadline
            when: c
            level: yellow
            action: {consultation: physical}
        """
    )
    result = triage.evaluate(pathway, answers={"a": True, "b": True, "c": True}, now=NOW)
    assert result.action is not None
    assert result.action.to_dict() == {"consultation": "video", "within": "P7D"}
    both = triage.evaluate(pathway, answers={"a": True, "b": False, "c": True}, now=NOW)
    assert both.action is not None and both.action.consultation == Consultation.DIGITAL


def test_otherwise_is_the_result_when_nothing_fires() -> None:
    result = run({"seizure-count": 0, "wants-contact": False})
    assert result.level == Level.GREEN
    assert result.fired == ()
    assert result.reasons == ()
    assert result.action is not None and result.action.consultation == Consultation.NONE
    assert result.patient_message == "Takk! " + NO_NEED


def test_without_otherwise_nothing_firing_is_green() -> None:
    pathway = make_pathway(
        """
        inputs:
          a: {answer: a, type: number}
        rules:
          - id: high
            when: a > 5
            level: red
        """
    )
    result = triage.evaluate(pathway, answers={"a": 1}, now=NOW)
    assert result.level == Level.GREEN
    assert result.action is None
    assert result.patient_message is None


def test_otherwise_can_be_yellow() -> None:
    pathway = make_pathway(
        """
        inputs:
          a: {answer: a, type: number}
        rules:
          - id: fine
            when: a < 5
            level: green
        otherwise:
          level: yellow
          patient_message: Vi ser på svarene dine.
        """
    )
    assert triage.evaluate(pathway, answers={"a": 1}, now=NOW).level == Level.GREEN
    result = triage.evaluate(pathway, answers={"a": 9}, now=NOW)
    assert result.level == Level.YELLOW
    assert result.patient_message == "Vi ser på svarene dine."


# -- rules that fail while evaluated ------------------------------------------------------

UNTYPED = make_pathway(
    """
    inputs:
      x: {answer: x}
      y: {answer: y, type: number}
    rules:
      - id: x-high
        when: x > 2
        level: yellow
      - id: y-high
        when: y > 2
        level: red
    """
)


def test_a_rule_that_errors_makes_the_result_yellow_with_the_error_as_reason() -> None:
    result = triage.evaluate(UNTYPED, answers={"x": "mye", "y": 1}, now=NOW)
    assert result.level == Level.YELLOW
    assert result.fired == ()
    [error] = system_reasons(result)
    assert error.kind == "error"
    assert error.rule == "x-high"
    assert "x-high" in error.text
    [trace] = [t for t in result.rules if t.id == "x-high"]
    assert trace.status == "error"
    assert REVIEW_WORDS in (result.patient_message or "")


def test_a_rule_that_errors_does_not_lower_a_red_result() -> None:
    result = triage.evaluate(UNTYPED, answers={"x": "mye", "y": 3}, now=NOW)
    assert result.level == Level.RED
    assert [r.level for r in result.reasons] == [Level.RED, Level.YELLOW]


def test_the_untyped_input_works_with_the_kind_of_data_it_is_used_as() -> None:
    assert triage.evaluate(UNTYPED, answers={"x": 3, "y": 0}, now=NOW).fired == ("x-high",)
