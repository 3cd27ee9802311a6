"""An item answered more than once (``repeats: true``): the highest score, true if any is, and
otherwise a person reads the form."""

from __future__ import annotations

from decimal import Decimal

import pytest
from helpers import NOW, make_pathway, system_reasons

import triage
from triage import Level

REPEATS = make_pathway(
    """
    inputs:
      symptoms:
        answer: symptoms
        scores: {none: 0, cough: 1, breathless: 2}
      worried: {answer: worried, type: boolean}
      feeling: {answer: feeling, type: text}
      count: {answer: count, type: number}
    rules:
      - id: breathless
        when: symptoms >= 2
        level: red
      - id: worried
        when: worried
        level: yellow
    """
)


def test_repeated_scored_answers_give_the_highest_score() -> None:
    result = triage.evaluate(REPEATS, answers={"symptoms": ("cough", "breathless")}, now=NOW)
    assert result.input_values["symptoms"] == Decimal(2)
    assert result.fired == ("breathless",)
    codings = ({"code": "none"}, {"code": "cough"})
    assert triage.evaluate(REPEATS, answers={"symptoms": codings}, now=NOW).input_values[
        "symptoms"
    ] == Decimal(1)


def test_repeated_scored_answers_with_a_code_not_in_the_map_are_yellow() -> None:
    result = triage.evaluate(REPEATS, answers={"symptoms": ("cough", "fever")}, now=NOW)
    assert result.input_values["symptoms"] is None
    assert result.level == Level.YELLOW
    [problem] = system_reasons(result)
    assert problem.kind == "error"
    assert "fever" in problem.text and "symptoms" in problem.text


@pytest.mark.parametrize(
    ("answers", "value"), [((False, True), True), ((False, False), False), ((True,), True)]
)
def test_repeated_boolean_answers_are_true_if_any_is(
    answers: tuple[bool, ...], value: bool
) -> None:
    result = triage.evaluate(REPEATS, answers={"worried": answers}, now=NOW)
    assert result.input_values["worried"] is value
    assert not system_reasons(result)


def test_repeated_boolean_answers_of_another_kind_are_yellow() -> None:
    result = triage.evaluate(REPEATS, answers={"worried": (True, "ja")}, now=NOW)
    assert result.input_values["worried"] is None
    assert result.level == Level.YELLOW


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("nb", "Spørsmålet feeling er besvart 3 ganger; en behandler må lese skjemaet"),
        ("nn", "Spørsmålet feeling er svara 3 gonger; ein behandlar må lese skjemaet"),
        ("en", "The item feeling was answered 3 times; a person must read the form"),
    ],
)
def test_other_repeated_answers_are_missing_and_a_person_reads_the_form(
    language: str, text: str
) -> None:
    pathway = make_pathway(
        f"language: {language}\n"
        + """
inputs:
  feeling: {answer: feeling, type: text}
  count: {answer: count, type: number}
rules:
  - id: bad
    when: feeling == 'dårlig' or count > 3
    level: yellow
"""
    )
    result = triage.evaluate(pathway, answers={"feeling": ("bra", "dårlig", "bra")}, now=NOW)
    assert result.input_values["feeling"] is None
    assert result.level == Level.YELLOW
    [problem] = system_reasons(result)
    assert (problem.kind, problem.text) == ("error", text)
    numbers = triage.evaluate(pathway, answers={"count": (1, 5)}, now=NOW)
    assert numbers.input_values["count"] is None
    assert numbers.level == Level.YELLOW


def test_one_answer_in_a_tuple_is_that_answer() -> None:
    result = triage.evaluate(REPEATS, answers={"feeling": ("bra",), "count": ()}, now=NOW)
    assert result.input_values["feeling"] == "bra"
    assert result.input_values["count"] is None
    assert not system_reasons(result)
