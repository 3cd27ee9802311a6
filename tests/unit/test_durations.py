"""ISO 8601 durations: parsing, refusals and calendar arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage.durations import Duration, DurationError, parse_duration

OSLO = ZoneInfo("Europe/Oslo")


@pytest.mark.parametrize(
    ("text", "parts", "canonical"),
    [
        ("P14D", {"days": 14}, "P14D"),
        ("P6M", {"months": 6}, "P6M"),
        ("PT1H", {"hours": 1}, "PT1H"),
        ("PT30M", {"minutes": 30}, "PT30M"),
        ("P1DT12H", {"days": 1, "hours": 12}, "P1DT12H"),
        ("P2W", {"weeks": 2}, "P2W"),
        ("P1Y", {"years": 1}, "P1Y"),
        ("P1Y2M", {"years": 1, "months": 2}, "P1Y2M"),
        (
            "P1Y2M3W4DT5H6M7S",
            {"years": 1, "months": 2, "weeks": 3, "days": 4, "hours": 5, "minutes": 6,
             "seconds": 7},
            "P1Y2M3W4DT5H6M7S",
        ),
        ("P0Y14D", {"days": 14}, "P14D"),
        ("P014D", {"days": 14}, "P14D"),
    ],
)  # fmt: skip
def test_parses_whole_number_durations(text: str, parts: dict[str, int], canonical: str) -> None:
    fields = ("years", "months", "weeks", "days", "hours", "minutes", "seconds")
    expected = Duration(**{name: parts.get(name, 0) for name in fields}, text=canonical)
    assert parse_duration(text) == expected


def test_str_is_the_canonical_text() -> None:
    assert str(parse_duration("P0Y6M")) == "P6M"


@pytest.mark.parametrize(
    ("given_text", "message"),
    [
        ("", "no duration given"),
        ("P", "'P' has no amount"),
        ("PT", "'PT' has no amount"),
        ("P1DT", "'P1DT' has a T with no hours, minutes or seconds"),
        ("p14d", "the letters must be capitals; did you mean P14D"),
        ("14D", r"'14D' is not an ISO 8601 duration; did you mean P14D \(14 days\)"),
        ("12H", r"did you mean PT12H \(12 hours\)"),
        ("-P14D", "cannot be negative"),
        ("P-14D", "cannot be negative"),
        ("P1.5D", "whole numbers"),
        ("PT0,5H", "whole numbers"),
        ("P 14D", "must not contain spaces; did you mean P14D"),
        (" P14D", "must not contain spaces"),
        ("P14D ", "must not contain spaces"),
        ("P0D", "zero, which makes no sense for a window"),
        ("PT0H0M", "zero"),
        ("P1H", r"write e.g. P14D \(14 days\), PT12H \(12 hours\), P6M \(6 months\)"),
        ("P200Y", "longer than 100 years"),
        ("P99999999999999999999D", "longer than 100 years"),
        ("P١٤D", "not an ISO 8601 duration"),
    ],
)
def test_refuses_with_a_plain_message(given_text: str, message: str) -> None:
    with pytest.raises(DurationError, match=message):
        parse_duration(given_text)


def test_number_from_yaml_is_refused_suggesting_days() -> None:
    with pytest.raises(DurationError, match=r"14 is not an ISO 8601 duration; did you mean P14D"):
        parse_duration(14)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [None, True, 1.5, 0, -3])
def test_other_non_strings_are_refused_without_a_guess(value: object) -> None:
    with pytest.raises(DurationError, match=r"write e\.g\. P14D") as raised:
        parse_duration(value)  # type: ignore[arg-type]
    assert "did you mean" not in str(raised.value)


def test_duration_error_is_a_value_error() -> None:
    assert issubclass(DurationError, ValueError)


@pytest.mark.parametrize(
    ("start", "text", "end"),
    [
        (datetime(2023, 1, 31, 9, tzinfo=UTC), "P1M", datetime(2023, 2, 28, 9, tzinfo=UTC)),
        (datetime(2024, 1, 31, 9, tzinfo=UTC), "P1M", datetime(2024, 2, 29, 9, tzinfo=UTC)),
        (datetime(2024, 8, 31, 9, tzinfo=UTC), "P6M", datetime(2025, 2, 28, 9, tzinfo=UTC)),
        (datetime(2024, 2, 29, 9, tzinfo=UTC), "P1Y", datetime(2025, 2, 28, 9, tzinfo=UTC)),
        (datetime(2024, 2, 29, 9, tzinfo=UTC), "P4Y", datetime(2028, 2, 29, 9, tzinfo=UTC)),
        (datetime(2024, 12, 15, 9, tzinfo=UTC), "P1M", datetime(2025, 1, 15, 9, tzinfo=UTC)),
        (datetime(2024, 2, 28, 9, tzinfo=UTC), "P1D", datetime(2024, 2, 29, 9, tzinfo=UTC)),
        (datetime(2023, 2, 28, 9, tzinfo=UTC), "P1D", datetime(2023, 3, 1, 9, tzinfo=UTC)),
        (datetime(2024, 1, 31, 9, tzinfo=UTC), "P1M1D", datetime(2024, 3, 1, 9, tzinfo=UTC)),
        (datetime(2024, 3, 1, 9, tzinfo=UTC), "P2W", datetime(2024, 3, 15, 9, tzinfo=UTC)),
        (datetime(2024, 3, 1, 9, tzinfo=UTC), "P1DT12H", datetime(2024, 3, 2, 21, tzinfo=UTC)),
    ],
)
def test_after_adds_by_the_calendar(start: datetime, text: str, end: datetime) -> None:
    assert parse_duration(text).after(start) == end


@pytest.mark.parametrize(
    ("start", "text", "end"),
    [
        (datetime(2024, 3, 31, 9, tzinfo=UTC), "P1M", datetime(2024, 2, 29, 9, tzinfo=UTC)),
        (datetime(2023, 3, 31, 9, tzinfo=UTC), "P1M", datetime(2023, 2, 28, 9, tzinfo=UTC)),
        (datetime(2025, 1, 15, 9, tzinfo=UTC), "P1M", datetime(2024, 12, 15, 9, tzinfo=UTC)),
        (datetime(2024, 3, 1, 9, tzinfo=UTC), "P1D", datetime(2024, 2, 29, 9, tzinfo=UTC)),
        (datetime(2024, 11, 20, 8, tzinfo=UTC), "P3D", datetime(2024, 11, 17, 8, tzinfo=UTC)),
    ],
)
def test_before_subtracts_by_the_calendar(start: datetime, text: str, end: datetime) -> None:
    assert parse_duration(text).before(start) == end


def test_days_keep_the_wall_clock_across_daylight_saving() -> None:
    # Oslo moved to summer time at 02:00 on 31 March 2024
    start = datetime(2024, 3, 30, 8, tzinfo=OSLO)
    end = parse_duration("P1D").after(start)
    assert (end.hour, end.day) == (8, 31)
    # subtracting within one tzinfo is wall-clock arithmetic in Python; compare instants
    assert end.timestamp() - start.timestamp() == 23 * 3600


def test_hours_are_elapsed_time_across_daylight_saving() -> None:
    start = datetime(2024, 3, 30, 8, tzinfo=OSLO)
    end = parse_duration("PT24H").after(start)
    assert (end.hour, end.day) == (9, 31)
    # subtracting within one tzinfo is wall-clock arithmetic in Python; compare instants
    assert end.timestamp() - start.timestamp() == 24 * 3600


def test_hours_back_across_the_autumn_change_are_elapsed_time() -> None:
    # Oslo moved back to winter time at 03:00 on 27 October 2024
    start = datetime(2024, 10, 27, 12, tzinfo=OSLO)
    assert parse_duration("PT12H").before(start).hour == 1


@pytest.mark.parametrize("text", ["P1M", "P1D", "PT1H"])
def test_keeps_the_tzinfo(text: str) -> None:
    start = datetime(2024, 6, 1, 8, tzinfo=OSLO)
    assert parse_duration(text).after(start).tzinfo is OSLO
    assert parse_duration(text).before(start).tzinfo is OSLO


def test_hour_after_an_ambiguous_time_counts_from_the_instant_given() -> None:
    # 02:30 happened twice on 27 October 2024 in Oslo; fold=1 is the second, in winter time
    second = datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=OSLO)
    end = parse_duration("PT1H").after(second)
    assert end.timestamp() - second.timestamp() == 3600
    assert end.hour == 3


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        parse_duration("P1D").after(datetime(2024, 1, 1, 8))


def test_result_outside_datetime_range_raises_overflow() -> None:
    with pytest.raises(OverflowError):
        parse_duration("P1M").after(datetime(9999, 12, 15, tzinfo=UTC))


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("P1Y", timedelta(days=365)),
        ("P6M", timedelta(days=180)),
        ("P2W", timedelta(days=14)),
        ("P1DT12H", timedelta(hours=36)),
        ("PT90S", timedelta(minutes=1, seconds=30)),
    ],
)
def test_approx_timedelta(text: str, length: timedelta) -> None:
    assert parse_duration(text).approx_timedelta() == length


def test_approx_timedelta_orders_by_urgency() -> None:
    texts = ["P1M", "PT12H", "P2W", "P1Y", "P1D", "PT48H"]
    ordered = sorted(texts, key=lambda text: parse_duration(text).approx_timedelta())
    assert ordered == ["PT12H", "P1D", "PT48H", "P2W", "P1M", "P1Y"]


_ZONES = st.sampled_from([UTC, OSLO, ZoneInfo("America/New_York"), timezone(timedelta(hours=-3))])
_TIMES = st.datetimes(
    min_value=datetime(1950, 1, 1), max_value=datetime(2100, 1, 1), timezones=_ZONES
)


@given(t=_TIMES, weeks_days=st.tuples(st.integers(0, 60), st.integers(0, 400)).filter(any))
def test_before_and_after_are_inverse_for_days(t: datetime, weeks_days: tuple[int, int]) -> None:
    duration = parse_duration("P{}W{}D".format(*weeks_days))
    assert duration.after(duration.before(t)) == t
    assert duration.before(duration.after(t)) == t


@given(t=_TIMES, hours=st.integers(1, 2000), seconds=st.integers(0, 3599))
def test_before_and_after_are_inverse_for_elapsed_time(
    t: datetime, hours: int, seconds: int
) -> None:
    duration = parse_duration(f"PT{hours}H{seconds}S")
    assert duration.after(duration.before(t)).timestamp() == t.timestamp()


@given(
    t=_TIMES,
    parts=st.tuples(*[st.integers(0, 3)] * 7).filter(any),
)
def test_window_ends_after_it_starts(t: datetime, parts: tuple[int, ...]) -> None:
    date = "".join(f"{n}{unit}" for n, unit in zip(parts[:4], "YMWD", strict=True))
    time = "".join(f"{n}{unit}" for n, unit in zip(parts[4:], "HMS", strict=True))
    duration = parse_duration(f"P{date}T{time}")
    assert duration.before(t).timestamp() < t.timestamp() < duration.after(t).timestamp()
