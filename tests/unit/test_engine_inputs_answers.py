"""The answers a pathway reads, by linkId: each kind of answer, scores that turn a code into a
number, and answers of the wrong kind. (The other inputs are in test_engine_inputs_*.py.)

Nested linkIds (an answer inside a group) are found by the FHIR adapter, which hands the
engine a flat linkId -> value map; they are tested with the adapter, not here."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from helpers import NOW, make_pathway, reason_texts, system_reasons

import triage
from triage import Level

ANSWERS = make_pathway(
    """
    inputs:
      seizures: {answer: seizure-count, type: number}
      temp: {answer: temperature, type: number}
      wants_contact: {answer: wants-contact, type: boolean}
      feeling: {answer: feeling, type: text}
      onset: {answer: onset, type: date}
      mobility: {answer: mobility, type: code}
    rules:
      - id: many-seizures
        when: seizures >= 3
        level: red
      - id: fever
        when: temp > 38.0
        level: yellow
      - id: wants-contact
        when: wants_contact
        level: yellow
      - id: feels-bad
        when: feeling == 'dårlig'
        level: yellow
      - id: recent-onset
        when: onset >= d"2024-11-01"
        level: yellow
      - id: immobile
        when: mobility in ['bed', 'wheelchair']
        level: yellow
    """
)


def fired(answers: dict[str, object]) -> set[str]:
    return set(triage.evaluate(ANSWERS, answers=answers, now=NOW).fired)


# -- answers by linkId -------------------------------------------------------------------


@pytest.mark.parametrize(("count", "fires"), [(2, False), (3, True), (7, True)])
def test_integer_answer_is_a_number(count: int, fires: bool) -> None:
    result = triage.evaluate(ANSWERS, answers={"seizure-count": count}, now=NOW)
    assert ("many-seizures" in result.fired) is fires
    assert result.level == (Level.RED if fires else Level.GREEN)
    assert result.input_values["seizures"] == Decimal(count)


@pytest.mark.parametrize(("temp", "fires"), [(38.0, False), (38.1, True), (37.95, False)])
def test_decimal_answer_is_compared_exactly(temp: float, fires: bool) -> None:
    assert ("fever" in fired({"temperature": temp})) is fires


@pytest.mark.parametrize(("value", "fires"), [(True, True), (False, False)])
def test_boolean_answer(value: bool, fires: bool) -> None:
    assert ("wants-contact" in fired({"wants-contact": value})) is fires


@pytest.mark.parametrize(("text", "fires"), [("dårlig", True), ("bra", False)])
def test_string_answer(text: str, fires: bool) -> None:
    assert ("feels-bad" in fired({"feeling": text})) is fires


@pytest.mark.parametrize(
    ("onset", "fires"),
    [
        (dt.date(2024, 11, 5), True),
        (dt.date(2024, 10, 31), False),
        (dt.datetime(2024, 11, 1, 0, 0, tzinfo=dt.UTC), True),
    ],
)
def test_date_answer_is_a_time(onset: dt.date, fires: bool) -> None:
    result = triage.evaluate(ANSWERS, answers={"onset": onset}, now=NOW)
    assert ("recent-onset" in result.fired) is fires
    assert isinstance(result.input_values["onset"], dt.datetime)


@pytest.mark.parametrize(("code", "fires"), [("bed", True), ("wheelchair", True), ("walks", False)])
def test_coding_answer_given_as_its_code(code: str, fires: bool) -> None:
    assert ("immobile" in fired({"mobility": code})) is fires


def test_answers_of_other_questions_do_not_leak_into_inputs() -> None:
    result = triage.evaluate(ANSWERS, answers={"seizure-count": 1, "unrelated": 99}, now=NOW)
    assert result.input_values["seizures"] == Decimal(1)
    assert result.level == Level.GREEN


# -- scores ------------------------------------------------------------------------------

SCORED = make_pathway(
    """
    inputs:
      side_effects:
        answer: side-effects
        scores: {none: 0, mild: 1, severe: 2}
    rules:
      - id: severe-side-effects
        when: side_effects >= 2
        level: red
      - id: some-side-effects
        when: side_effects >= 1
        level: yellow
    """
)


@pytest.mark.parametrize(
    ("code", "score", "level"),
    [("none", 0, Level.GREEN), ("mild", 1, Level.YELLOW), ("severe", 2, Level.RED)],
)
def test_scores_turn_a_code_into_its_number(code: str, score: int, level: Level) -> None:
    result = triage.evaluate(SCORED, answers={"side-effects": code}, now=NOW)
    assert result.input_values["side_effects"] == Decimal(score)
    assert result.level == level
    assert not system_reasons(result)


def test_a_code_missing_from_scores_is_not_a_silent_zero() -> None:
    result = triage.evaluate(SCORED, answers={"side-effects": "unbearable"}, now=NOW)
    assert result.level == Level.YELLOW
    assert result.input_values["side_effects"] is None  # not 0
    [problem] = system_reasons(result)
    assert "side-effects" in problem.text
    assert "unbearable" in problem.text


# -- answers of the wrong kind -----------------------------------------------------------


def test_text_where_a_number_is_declared_is_yellow_with_the_answer_named() -> None:
    result = triage.evaluate(ANSWERS, answers={"seizure-count": "tre"}, now=NOW)
    assert result.level == Level.YELLOW
    assert result.input_values["seizures"] is None
    assert any("seizure-count" in text and "tre" in text for text in reason_texts(result))


def test_text_where_the_files_tests_show_a_number_is_yellow() -> None:
    pathway = make_pathway(
        """
        inputs:
          pain: {answer: pain}
        rules:
          - id: much-pain
            when: pain >= 7
            level: red
        tests:
          - name: litt vondt
            answers: {pain: 2}
            expect: green
        """
    )
    assert triage.evaluate(pathway, answers={"pain": 8}, now=NOW).level == Level.RED
    result = triage.evaluate(pathway, answers={"pain": "veldig vondt"}, now=NOW)
    assert result.level == Level.YELLOW
    assert any("pain" in text for text in reason_texts(result))


def test_a_boolean_where_a_number_is_declared_is_yellow() -> None:
    result = triage.evaluate(ANSWERS, answers={"seizure-count": True}, now=NOW)
    assert result.level == Level.YELLOW
    assert result.input_values["seizures"] is None


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_a_number_that_is_not_finite_is_yellow_and_the_result_still_serialises(
    value: float,
) -> None:
    result = triage.evaluate(ANSWERS, answers={"seizure-count": value}, now=NOW)
    assert result.level == Level.YELLOW
    assert result.input_values["seizures"] is None
    assert any("seizure-count" in text for text in reason_texts(result))
    result.to_dict()  # no OverflowError for infinity
