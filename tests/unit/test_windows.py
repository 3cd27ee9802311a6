"""Window summaries of device readings at their edges: both ends of a window included."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from helpers import NOW, make_pathway, reading
from hypothesis import given, settings
from hypothesis import strategies as st

import triage
from triage import Level
from triage.model import ObservationInput
from triage.windows import Series, build_series, summarize

WINDOWS = make_pathway(
    """
    inputs:
      newest: {observation: weight}
      mean3: {observation: weight, mean: P3D}
      min3: {observation: weight, min: P3D}
      max3: {observation: weight, max: P3D}
      count3: {observation: weight, count: P3D}
      gain: {observation: weight, change: P3D}
      below: {observation: weight, percent_below: {value: 80, over: P3D}}
      above: {observation: weight, percent_above: {value: 90, over: P3D}}
      between: {observation: weight, percent_between: {low: 80, high: 90, over: P3D}}
    rules:
      - id: gain
        when: gain >= 2.3
        level: red
        say: "Økt {gain} kg på 3 dager"
      - id: no-readings
        when: count3 == 0
        level: yellow
      - id: heavy-on-average
        when: mean3 > 100
        level: yellow
      - id: often-light
        when: below > 0
        level: yellow
    """
)

NOV = dt.datetime(2024, 11, 20, 8, 0, tzinfo=dt.UTC)


def values(*readings: triage.Reading, now: dt.datetime = NOW) -> dict[str, object]:
    return triage.evaluate(WINDOWS, readings=list(readings), now=now).input_values


def test_a_reading_exactly_on_the_window_start_is_included() -> None:
    # P3D before 20 Nov 08:00 includes 17 Nov 08:00.
    got = values(
        reading("weight", 82.0, dt.datetime(2024, 11, 17, 8, 0, tzinfo=dt.UTC)),
        reading("weight", 84.3, NOV),
    )
    assert got["count3"] == 2
    assert got["min3"] == Decimal("82.0")
    assert got["max3"] == Decimal("84.3")
    assert got["mean3"] == Decimal("83.15")
    assert got["gain"] == Decimal("2.3")


def test_a_reading_one_second_before_the_window_start_is_excluded() -> None:
    got = values(
        reading("weight", 82.0, dt.datetime(2024, 11, 17, 7, 59, 59, tzinfo=dt.UTC)),
        reading("weight", 84.3, NOV),
    )
    assert got["count3"] == 1
    assert got["min3"] == Decimal("84.3")
    assert got["gain"] == 0


def test_change_is_exact_in_decimals_so_a_rule_on_the_limit_fires() -> None:
    # In floats 84.3 - 82.0 is 2.299999999999997, which would miss `gain >= 2.3`.
    result = triage.evaluate(
        WINDOWS,
        readings=[
            reading("weight", 82.0, dt.datetime(2024, 11, 17, 8, 0, tzinfo=dt.UTC)),
            reading("weight", 84.3, NOV),
        ],
        now=NOW,
    )
    assert result.fired == ("gain",)
    assert result.level == Level.RED
    assert [r.text for r in result.reasons] == ["Økt 2,3 kg på 3 dager"]


def test_the_window_ends_at_the_newest_reading_not_at_now() -> None:
    # A scale last used 10 days ago: the window covers days 10-13 before now.
    newest = NOW - dt.timedelta(days=10)
    got = values(
        reading("weight", 70.0, newest - dt.timedelta(days=3)),
        reading("weight", 71.0, newest - dt.timedelta(days=1)),
        reading("weight", 72.5, newest),
        reading("weight", 60.0, newest - dt.timedelta(days=4)),  # outside the window
    )
    assert got["count3"] == 3
    assert got["gain"] == Decimal("2.5")
    assert got["min3"] == Decimal("70.0")


def test_the_window_counts_calendar_days_across_a_daylight_saving_change() -> None:
    # Norway left summer time on 27 Oct 2024: 25 Oct 08:00 to 28 Oct 08:00 is 73 hours,
    # and is still three days on the clock on the wall.
    oslo = ZoneInfo("Europe/Oslo")
    got = values(
        reading("weight", 80.0, dt.datetime(2024, 10, 25, 8, 0, tzinfo=oslo)),
        reading("weight", 81.0, dt.datetime(2024, 10, 28, 8, 0, tzinfo=oslo)),
        now=dt.datetime(2024, 10, 28, 9, 0, tzinfo=oslo),
    )
    assert got["count3"] == 2


def test_no_readings_count_is_zero_and_every_other_form_is_missing() -> None:
    result = triage.evaluate(WINDOWS, readings=[], now=NOW)
    got = result.input_values
    assert got["count3"] == 0
    for name in ("newest", "mean3", "min3", "max3", "gain", "below", "above", "between"):
        assert got[name] is None, name
    # count 0 can fire a rule; rules on the missing summaries are undecided, not fired.
    assert result.fired == ("no-readings",)
    statuses = {t.id: t.status for t in result.rules}
    assert statuses["gain"] == statuses["heavy-on-average"] == "undecided"


def test_readings_of_another_name_do_not_count() -> None:
    got = values(reading("temperature", 37.0, NOW, unit="Cel"))
    assert got["count3"] == 0
    assert got["newest"] is None


def test_one_reading_change_zero_and_mean_equals_the_value() -> None:
    got = values(reading("weight", 85.4, NOW))
    assert got["count3"] == 1
    assert got["newest"] == Decimal("85.4")
    assert got["mean3"] == Decimal("85.4")
    assert got["min3"] == got["max3"] == Decimal("85.4")
    assert got["gain"] == 0
    assert got["between"] == 100
    assert got["below"] == got["above"] == 0


def test_percent_below_and_above_are_strict_between_is_inclusive() -> None:
    # 79.9 and 80 and 90 and 90.1: below 80 strictly is one of four, above 90 one of
    # four, and 80..90 with both ends included two of four.
    got = values(
        reading("weight", 80.0, NOW - dt.timedelta(hours=3)),
        reading("weight", 79.9, NOW - dt.timedelta(hours=2)),
        reading("weight", 90.1, NOW - dt.timedelta(hours=1)),
        reading("weight", 90.0, NOW),
    )
    assert got["below"] == 25
    assert got["above"] == 25
    assert got["between"] == 50


def test_percent_of_thirds_is_a_share_not_a_count() -> None:
    got = values(
        reading("weight", 79.0, NOW - dt.timedelta(hours=2)),
        reading("weight", 85.0, NOW - dt.timedelta(hours=1)),
        reading("weight", 86.0, NOW),
    )
    assert float(got["below"]) == pytest.approx(100 / 3, abs=1e-3)
    assert float(got["between"]) == pytest.approx(200 / 3, abs=1e-3)


def test_unsorted_readings_are_ordered_by_time() -> None:
    got = values(
        reading("weight", 84.3, NOW),
        reading("weight", 83.0, NOW - dt.timedelta(days=1)),
        reading("weight", 82.0, NOW - dt.timedelta(days=2)),
        reading("weight", 99.0, NOW - dt.timedelta(days=5)),
    )
    assert got["newest"] == Decimal("84.3")
    assert got["gain"] == Decimal("2.3")  # newest minus oldest in time, not in list order
    assert got["count3"] == 3
    assert got["max3"] == Decimal("84.3")


def test_a_weight_loss_is_a_negative_change() -> None:
    got = values(
        reading("weight", 90.0, NOW - dt.timedelta(days=2)),
        reading("weight", 87.5, NOW),
    )
    assert got["gain"] == Decimal("-2.5")


# -- properties --------------------------------------------------------------------------

readings_strategy = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=10 * 24 * 60),  # minutes before now
        st.decimals(min_value=40, max_value=160, places=1),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(readings_strategy)
def test_window_summaries_agree_with_brute_force(pairs: list[tuple[int, Decimal]]) -> None:
    readings = [
        reading("weight", float(value), NOW - dt.timedelta(minutes=m)) for m, value in pairs
    ]
    got = values(*readings)
    newest = max(r.time for r in readings)
    start = newest - dt.timedelta(days=3)
    inside = [Decimal(repr(r.value)) for r in readings if start <= r.time <= newest]

    assert got["count3"] == len(inside)
    assert got["min3"] == min(inside)
    assert got["max3"] == max(inside)
    assert got["min3"] <= got["mean3"] <= got["max3"]
    assert got["mean3"] == pytest.approx(sum(inside) / len(inside), abs=Decimal("0.000001"))
    for name in ("below", "above", "between"):
        assert 0 <= got[name] <= 100
    below = sum(1 for v in inside if v < 80)
    assert got["below"] == pytest.approx(Decimal(100 * below) / len(inside), abs=Decimal("0.001"))
    assert got["below"] + got["above"] + got["between"] == pytest.approx(100, abs=0.001)


# -- a prefix of the readings (judging as of a time) ----------------------------------------

SPECS = [spec for spec in WINDOWS.inputs.values() if isinstance(spec, ObservationInput)]
assert {spec.form for spec in SPECS} == {
    "newest",
    "mean",
    "min",
    "max",
    "count",
    "change",
    "percent_below",
    "percent_above",
    "percent_between",
}


def series_of(pairs: list[tuple[int, Decimal]]) -> Series:
    readings = [
        reading("weight", float(value), NOW - dt.timedelta(minutes=m)) for m, value in pairs
    ]
    return build_series(readings).get("weight") or Series()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10 * 24 * 60), st.decimals(40, 160, places=1))), st.data())
def test_a_summary_over_a_prefix_equals_the_summary_of_the_shorter_series(
    pairs: list[tuple[int, Decimal]], data: st.DataObject
) -> None:
    series = series_of(pairs)
    end = data.draw(st.integers(0, len(series.values)))
    shorter = Series(series.times[:end], series.values[:end])
    for spec in SPECS:
        # Asked three times: counted, then from running counts built on the second ask.
        for _ in range(3):
            assert summarize(series, spec, end) == summarize(shorter, spec), spec.name
    assert summarize(series, SPECS[0], len(series.values)) == summarize(series, SPECS[0])


# -- readings so large that a summary is no number ------------------------------------------


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.form)
@pytest.mark.parametrize("values", [(1e308, 1e308), (-1e308, 1e308), (1.7e308, 1.7e308, -1e308)])
def test_readings_of_1e308_never_raise_nor_give_infinity(
    spec: ObservationInput, values: tuple[float, ...]
) -> None:
    readings = [reading("weight", v, NOW - dt.timedelta(hours=i)) for i, v in enumerate(values)]
    summary = summarize(build_series(readings)["weight"], spec)
    if summary.value is None:
        assert summary.overflow
    else:
        assert summary.value.is_finite() and abs(summary.value) <= Decimal("1.8e308")


def test_a_mean_of_1e308_is_missing_with_a_yellow_reason_naming_it() -> None:
    result = triage.evaluate(
        WINDOWS,
        readings=[
            reading("weight", 1.7e308, NOW - dt.timedelta(hours=1)),
            reading("weight", 1.7e308, NOW),
        ],
        now=NOW,
    )
    assert result.input_values["mean3"] is None
    assert result.input_values["newest"] == Decimal("1.7e308")
    assert result.level == Level.YELLOW
    errors = [r for r in result.reasons if r.kind == "error"]
    assert [r.text for r in errors] == [
        "mean3 (mean of weight over P3D) kan ikke beregnes: verdiene er for store"
    ]
    data = result.to_dict()
    json.dumps(data, allow_nan=False)  # PostgreSQL refuses Infinity in JSON


def test_a_change_beyond_what_a_float_holds_is_missing() -> None:
    result = triage.evaluate(
        WINDOWS,
        readings=[
            reading("weight", -1e308, NOW - dt.timedelta(hours=1)),
            reading("weight", 1e308, NOW),
        ],
        now=NOW,
    )
    assert result.input_values["gain"] is None
    assert any(r.kind == "error" and r.text.startswith("gain ") for r in result.reasons)
    json.dumps(result.to_dict(), allow_nan=False)


def test_a_derived_value_of_1e308_readings_is_missing_with_a_yellow_reason() -> None:
    pathway = make_pathway(
        """
        language: en
        inputs:
          weight: {observation: weight}
        derived:
          double: weight * 10
          ratio: weight / 1e-300
        rules:
          - id: heavy
            when: double > 1000
            level: red
        """
    )
    result = triage.evaluate(pathway, readings=[reading("weight", 1e308, NOW)], now=NOW)
    derived = {t.name: t.value for t in result.derived}
    assert derived == {"double": None, "ratio": None}
    assert result.level == Level.YELLOW
    texts = [r.text for r in result.reasons if r.kind == "error"]
    assert texts == [
        "double (weight * 10) cannot be computed: the values are too large",
        "ratio (weight / 1e-300) cannot be computed: the values are too large",
    ]
    assert [u.lacking for u in result.undecided] == [("double",)]
    json.dumps(result.to_dict(), allow_nan=False)
