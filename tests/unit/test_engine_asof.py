"""Judging as of a time (RULES.md "When"): each upload on the data of its own moment."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers import GLUCOSE, NOW, WEIGHT, make_pathway, reading, system_reasons
from hypothesis import given, settings
from hypothesis import strategies as st

import triage
from triage import Level, Measurement, ThresholdError, evaluate_at, prepare
from triage.engine import FUTURE_TOLERANCE

PATHWAY = make_pathway(
    """
    thresholds:
      gain_red: {value: 2, min: 1, max: 5}
    inputs:
      weight_now: {observation: weight}
      gain: {observation: weight, change: P3D}
      mean3: {observation: weight, mean: P3D}
      count3: {observation: weight, count: P3D}
      low: {observation: weight, percent_below: {value: 70, over: P3D}}
      wants_contact: {answer: wants-contact, type: boolean}
    rules:
      - id: gain
        when: gain >= gain_red
        level: red
        say: "Økt {gain} kg"
      - id: no-readings
        when: count3 == 0
        level: yellow
      - id: wants-contact
        when: wants_contact
        level: yellow
    """
)

DAY = dt.timedelta(days=1)
CGM = Path(__file__).resolve().parents[2] / "rules" / "diabetes-cgm.yaml"


def weights(*pairs: tuple[float, dt.datetime]) -> triage.Prepared:
    return prepare(PATHWAY, readings=[reading("weight", v, t) for v, t in pairs])


def test_only_readings_at_or_before_as_of_are_seen() -> None:
    prepared = weights((80.0, NOW - 2 * DAY), (83.0, NOW), (90.0, NOW + DAY))
    result = evaluate_at(PATHWAY, prepared, as_of=NOW)
    assert result.input_values["weight_now"] == Decimal("83.0")  # a reading exactly at as_of
    assert result.input_values["count3"] == 2
    assert result.fired == ("gain",)
    # No "future" flag: a later reading is simply not visible yet.
    assert not system_reasons(result)


def test_the_window_ends_at_the_newest_visible_reading() -> None:
    # As of 5 days ago, the window is days 8..5 before now and holds two readings.
    prepared = weights(
        (70.0, NOW - 9 * DAY), (71.0, NOW - 8 * DAY), (73.5, NOW - 5 * DAY), (99.0, NOW)
    )
    result = evaluate_at(PATHWAY, prepared, as_of=NOW - 4 * DAY)
    assert result.input_values["count3"] == 2
    assert result.input_values["gain"] == Decimal("2.5")
    assert result.input_values["weight_now"] == Decimal("73.5")


def test_nothing_visible_count_is_zero_and_the_rest_missing() -> None:
    prepared = weights((80.0, NOW))
    result = evaluate_at(PATHWAY, prepared, as_of=NOW - dt.timedelta(seconds=1))
    values = result.input_values
    assert values["count3"] == 0
    assert values["weight_now"] is values["gain"] is values["mean3"] is values["low"] is None
    assert result.fired == ("no-readings",)
    assert {u.rule for u in result.undecided} == {"gain", "wants-contact"}


def test_answers_are_the_callers_and_evaluated_at_is_recorded() -> None:
    prepared = weights((80.0, NOW))
    at = NOW + dt.timedelta(hours=3)
    result = evaluate_at(
        PATHWAY, prepared, as_of=NOW, answers={"wants-contact": True}, evaluated_at=at
    )
    assert result.fired == ("wants-contact",)
    assert result.evaluated_at == at
    before = dt.datetime.now(dt.UTC)
    assert evaluate_at(PATHWAY, prepared, as_of=NOW).evaluated_at >= before


def test_patient_thresholds_are_used_and_checked() -> None:
    prepared = weights((80.0, NOW - DAY), (81.5, NOW))
    assert evaluate_at(PATHWAY, prepared, as_of=NOW).fired == ()
    lower = evaluate_at(PATHWAY, prepared, as_of=NOW, thresholds={"gain_red": 1})
    assert lower.fired == ("gain",)
    assert lower.patient_thresholds == ("gain_red",)
    with pytest.raises(ThresholdError):
        evaluate_at(PATHWAY, prepared, as_of=NOW, thresholds={"gain_red": 50})


def test_as_of_without_a_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        evaluate_at(PATHWAY, weights((80.0, NOW)), as_of=NOW.replace(tzinfo=None))


def test_routing_problems_belong_to_every_judgement() -> None:
    prepared = prepare(
        PATHWAY,
        measurements=[
            Measurement(WEIGHT, 80, "kg", NOW - DAY),
            Measurement(WEIGHT, 12, "stone", NOW),  # not a unit the engine knows
            Measurement(GLUCOSE, 5.5, "mmol/L", NOW),  # routed, but no input reads it
        ],
    )
    assert [r.kind for r in prepared.reasons] == ["unit"]
    assert set(prepared.series) == {"weight", "glucose"}
    for as_of in (NOW - DAY, NOW):
        result = evaluate_at(PATHWAY, prepared, as_of=as_of)
        assert result.level == Level.YELLOW
        assert [r.kind for r in system_reasons(result)] == ["unit"]


def test_prepare_routes_a_measurement_by_any_of_its_codings() -> None:
    other = "http://snomed.info/sct|27113001"
    prepared = prepare(
        PATHWAY,
        measurements=[Measurement(other, 80, "kg", NOW, alt_codes=(WEIGHT,))],
    )
    assert prepared.series["weight"].values == [80]


def test_evaluate_is_prepare_and_evaluate_at_plus_the_future_flag() -> None:
    readings = [
        reading("weight", 80.0, NOW - DAY),
        reading("weight", 82.5, NOW + dt.timedelta(minutes=5)),  # clock drift: used
        reading("weight", 95.0, NOW + dt.timedelta(hours=2)),  # in the future: not used
    ]
    whole = triage.evaluate(PATHWAY, readings=readings, now=NOW)
    parts = evaluate_at(
        PATHWAY,
        prepare(PATHWAY, readings=readings),
        as_of=NOW + FUTURE_TOLERANCE,
        evaluated_at=NOW,
    )
    assert whole.input_values["weight_now"] == Decimal("82.5")
    assert [r.kind for r in system_reasons(whole)] == ["future"]
    assert "1 måling(er) datert fram i tid" in system_reasons(whole)[0].text
    assert without_future(whole.to_dict()) == without_future(parts.to_dict())
    assert whole.level == Level.RED  # gain 2.5 and the future flag
    assert parts.level == Level.RED


def without_future(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "reasons": [r for r in data["reasons"] if r["kind"] != "future"]}


times = st.integers(min_value=0, max_value=6 * 24 * 60)  # minutes after the start


@settings(max_examples=80, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(times, st.decimals(min_value=50, max_value=110, places=1)), max_size=30
    ),
    cut=times,
)
def test_a_judgement_as_of_a_time_equals_evaluating_only_the_data_up_to_it(
    pairs: list[tuple[int, Decimal]], cut: int
) -> None:
    start = NOW - 6 * DAY
    readings = [reading("weight", float(v), start + dt.timedelta(minutes=m)) for m, v in pairs]
    as_of = start + dt.timedelta(minutes=cut)
    prepared = prepare(PATHWAY, readings=readings)
    got = evaluate_at(PATHWAY, prepared, as_of=as_of, evaluated_at=NOW)
    visible = [r for r in readings if r.time <= as_of]
    expected = triage.evaluate(PATHWAY, readings=visible, now=NOW)
    assert got.to_dict() == expected.to_dict()


def test_a_burst_of_cgm_readings_gets_one_judgement_each_on_its_own_data() -> None:
    pathway = triage.load_pathway(CGM)
    rng = random.Random(3)
    start = NOW - 15 * DAY
    every = dt.timedelta(minutes=5)
    readings = [
        reading("glucose", round(rng.gauss(7, 2.5), 1), start + i * every, unit="mmol/L")
        for i in range(14 * 288 + 288)
    ]
    burst = readings[-288:]
    prepared = prepare(pathway, readings=readings)
    results = [evaluate_at(pathway, prepared, as_of=r.time, evaluated_at=NOW) for r in burst]
    assert len(results) == 288
    for index in (0, 1, 100, 287):
        as_of = burst[index].time
        visible = [r for r in readings if r.time <= as_of]
        assert (
            results[index].to_dict()
            == triage.evaluate(pathway, readings=visible, now=NOW).to_dict()
        )
    # Judged more than once, the percentages come from running counts: same numbers.
    again = evaluate_at(pathway, prepared, as_of=burst[0].time, evaluated_at=NOW)
    assert again.to_dict() == results[0].to_dict()
