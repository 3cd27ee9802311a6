"""Device readings as inputs: units converted to the pathway's (or a yellow result, never a
wrong number), readings from the future, blood pressure panels, codes the pathway ignores."""

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
