"""Each input form of a pathway: what the engine reads from answers and device readings.

Nested linkIds (an answer inside a group) are found by the FHIR adapter, which hands the
engine a flat linkId -> value map; they are tested with the adapter, not here.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from helpers import (
    BP_PANEL,
    DIASTOLIC,
    GLUCOSE,
    KETONES,
    NOW,
    SYSTOLIC,
    TEMPERATURE,
    WEIGHT,
    hours_before,
    make_pathway,
    reading,
    reason_texts,
    system_reasons,
)

import triage
from triage import Level, Measurement

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


# -- device readings and units -----------------------------------------------------------

READINGS = make_pathway(
    """
    inputs:
      glucose_now: {observation: glucose}
      weight_now: {observation: weight}
      temp_now: {observation: temperature}
      ketones_now: {observation: ketones}
      systolic_now: {observation: systolic}
      diastolic_now: {observation: diastolic}
    rules:
      - id: hypo
        when: glucose_now < 3.0
        level: red
        say: "glukose {glucose_now} mmol/L"
      - id: heavy
        when: weight_now >= 80
        level: yellow
        say: "vekt {weight_now} kg"
      - id: fever
        when: temp_now >= 38
        level: yellow
        say: "temperatur {temp_now}"
      - id: high-systolic
        when: systolic_now >= 140
        level: yellow
        say: "systolisk {systolic_now}"
      - id: high-diastolic
        when: diastolic_now >= 90
        level: yellow
        say: "diastolisk {diastolic_now}"
      - id: ketones-high
        when: ketones_now > 1.5
        level: red
    """
)


def evaluate_measurements(*measurements: Measurement) -> triage.Result:
    return triage.evaluate(READINGS, measurements=list(measurements), now=NOW)


def test_glucose_in_mg_per_dl_is_converted_to_mmol_per_l() -> None:
    result = evaluate_measurements(Measurement(GLUCOSE, 52, "mg/dL", NOW))
    assert float(result.input_values["glucose_now"]) == pytest.approx(52 / 18.0156, abs=1e-9)
    assert result.level == Level.RED  # 2.9 mmol/L, not 52
    assert reason_texts(result) == ["glukose 2,9 mmol/L"]


def test_weight_in_pounds_is_converted_to_kg() -> None:
    result = evaluate_measurements(Measurement(WEIGHT, 180, "[lb_av]", NOW))
    assert float(result.input_values["weight_now"]) == pytest.approx(81.6466266)
    assert reason_texts(result) == ["vekt 81,6 kg"]
    lighter = evaluate_measurements(Measurement(WEIGHT, 170, "lb", NOW))  # 77.1 kg
    assert lighter.level == Level.GREEN


def test_temperature_in_fahrenheit_is_converted_to_celsius() -> None:
    result = evaluate_measurements(Measurement(TEMPERATURE, 100.4, "[degF]", NOW))
    assert result.input_values["temp_now"] == Decimal(38)
    assert result.fired == ("fever",)
    normal = evaluate_measurements(Measurement(TEMPERATURE, 98.6, "[degF]", NOW))
    assert normal.level == Level.GREEN


@pytest.mark.parametrize(
    ("measurement", "name"),
    [
        (Measurement(SYSTOLIC, 82, "kg", NOW, panel=BP_PANEL), "systolic"),
        (Measurement(KETONES, 30, "mg/dL", NOW), "ketones"),  # mg/dL -> mmol/L needs glucose
        (Measurement(WEIGHT, 80, "stone", NOW), "weight"),  # not a unit the engine knows
    ],
)
def test_a_unit_that_cannot_be_converted_is_yellow_never_a_wrong_number(
    measurement: Measurement, name: str
) -> None:
    result = evaluate_measurements(measurement)
    assert result.level == Level.YELLOW
    [problem] = system_reasons(result)
    assert problem.kind == "unit"
    assert name in problem.text
    assert all(value is None for value in result.input_values.values())


def test_an_unconvertible_newer_reading_still_reaches_a_person() -> None:
    result = evaluate_measurements(
        Measurement(WEIGHT, 70, "kg", hours_before(24)),
        Measurement(WEIGHT, 200, "stone", NOW),
    )
    assert result.level == Level.YELLOW
    assert any(r.kind == "unit" for r in result.reasons)


def test_a_reading_dated_in_the_future_is_not_used_as_the_newest() -> None:
    result = evaluate_measurements(
        Measurement(WEIGHT, 70, "kg", hours_before(24)),
        Measurement(WEIGHT, 95, "kg", NOW + dt.timedelta(hours=2)),
    )
    assert result.input_values["weight_now"] == Decimal(70)
    assert "heavy" not in result.fired
    assert result.level == Level.YELLOW
    [future] = system_reasons(result)
    assert future.kind == "future"


def test_a_reading_a_few_minutes_ahead_is_device_clock_drift_and_is_used() -> None:
    result = evaluate_measurements(
        Measurement(WEIGHT, 70, "kg", hours_before(24)),
        Measurement(WEIGHT, 95, "kg", NOW + dt.timedelta(minutes=5)),
    )
    assert result.input_values["weight_now"] == Decimal(95)
    assert result.fired == ("heavy",)
    assert not system_reasons(result)


def test_future_readings_given_as_readings_are_refused_too() -> None:
    result = triage.evaluate(
        READINGS, readings=[reading("weight", 95, NOW + dt.timedelta(days=1))], now=NOW
    )
    assert result.input_values["weight_now"] is None
    assert result.level == Level.YELLOW


def test_blood_pressure_panel_components_are_routed_by_panel_and_component_code() -> None:
    result = evaluate_measurements(
        Measurement(SYSTOLIC, 128, "mm[Hg]", NOW, panel=BP_PANEL),
        Measurement(DIASTOLIC, 95, "mmHg", NOW, panel=BP_PANEL),
    )
    assert result.input_values["systolic_now"] == Decimal(128)
    assert result.input_values["diastolic_now"] == Decimal(95)
    assert reason_texts(result) == ["diastolisk 95"]


def test_a_standalone_systolic_code_is_routed_like_the_panel_component() -> None:
    result = evaluate_measurements(Measurement(SYSTOLIC, 150, "mm[Hg]", NOW))
    assert result.input_values["systolic_now"] == Decimal(150)
    assert result.input_values["diastolic_now"] is None
    assert result.fired == ("high-systolic",)


def test_blood_pressure_in_kpa_is_converted() -> None:
    result = evaluate_measurements(Measurement(SYSTOLIC, 20, "kPa", NOW, panel=BP_PANEL))
    assert float(result.input_values["systolic_now"]) == pytest.approx(150.01, abs=0.01)


def test_a_code_the_pathway_does_not_read_is_ignored() -> None:
    result = evaluate_measurements(Measurement("http://loinc.org|9279-1", 30, "/min", NOW))
    assert result.level == Level.GREEN
    assert not result.reasons


# -- an item answered more than once (repeats: true) -------------------------------------

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
