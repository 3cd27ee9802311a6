"""The message the patient is told: from the most urgent fired rule that has one, never "no
need" when a rule fired or data was missing, with its placeholders filled."""

from __future__ import annotations

from helpers import NOW, make_pathway, reason_texts
from seizures_pathway import NO_NEED, REVIEW_WORDS, run

import triage
from triage import Level


def test_patient_message_comes_from_the_most_urgent_fired_rule_with_one() -> None:
    assert run({"seizure-count": 4}).patient_message == "Vi ringer deg innen to uker."
    # Both yellow: wants-contact (P7D) and some-seizures (P1D): the shorter deadline wins.
    message = run({"seizure-count": 1, "wants-contact": True}).patient_message
    assert message == "Vi sender deg en melding."


def test_patient_message_follows_urgency_not_the_order_of_rules_in_the_file() -> None:
    pathway = make_pathway(
        """
        inputs:
          a: {answer: a, type: number}
        rules:
          - id: soon
            when: a > 1
            level: yellow
            action: {consultation: phone, within: P1D}
            patient_message: Vi ringer deg.
          - id: urgent
            when: a > 5
            level: red
            action: {consultation: physical, within: P7D}
            patient_message: Du får time på poliklinikken.
        """
    )
    result = triage.evaluate(pathway, answers={"a": 9}, now=NOW)
    assert result.level == Level.RED
    assert result.patient_message == "Du får time på poliklinikken."
    assert result.action is not None and result.action.within is not None
    assert result.action.within.text == "P7D"


def test_a_red_rule_without_message_uses_the_next_fired_rule_with_one() -> None:
    result = run({"seizure-count": 0, "temperature": 39.0, "wants-contact": True})
    assert result.level == Level.RED
    assert result.patient_message == "Vi tar kontakt innen en uke."


def test_fired_rules_without_messages_never_give_the_green_otherwise_message() -> None:
    result = run({"seizure-count": 0, "temperature": 39.0})
    assert result.level == Level.RED
    assert result.patient_message is not None
    assert NO_NEED not in result.patient_message
    assert REVIEW_WORDS in result.patient_message


def test_missing_required_answer_with_nothing_fired_is_yellow_and_not_no_need() -> None:
    result = run({"wants-contact": False})
    assert result.level == Level.YELLOW
    assert result.fired == ()
    assert result.patient_message is not None
    assert NO_NEED not in result.patient_message
    assert REVIEW_WORDS in result.patient_message
    assert any("seizures" in text for text in reason_texts(result))


def test_a_fired_green_rule_does_not_tell_a_yellow_patient_there_is_no_need() -> None:
    pathway = make_pathway(
        """
        inputs:
          seizures: {answer: seizure-count, type: number, required: true}
          feels_well: {answer: feels-well, type: boolean}
        rules:
          - id: feels-well
            when: feels_well
            level: green
            patient_message: Fint! Du trenger ingen kontroll nå.
        """
    )
    result = triage.evaluate(pathway, answers={"feels-well": True}, now=NOW)
    assert result.level == Level.YELLOW
    assert result.patient_message is not None
    assert "ingen kontroll" not in result.patient_message
    fine = triage.evaluate(pathway, answers={"feels-well": True, "seizure-count": 0}, now=NOW)
    assert fine.patient_message == "Fint! Du trenger ingen kontroll nå."


def test_patient_message_placeholders_are_filled() -> None:
    pathway = make_pathway(
        """
        thresholds:
          limit: {value: 2.5, min: 1, max: 5}
        inputs:
          a: {answer: a, type: number}
        rules:
          - id: high
            when: a > limit
            level: yellow
            patient_message: "Du svarte {a}, grensen er {limit}."
        """
    )
    result = triage.evaluate(pathway, answers={"a": 3.14}, now=NOW)
    assert result.patient_message == "Du svarte 3,1, grensen er 2,5."
