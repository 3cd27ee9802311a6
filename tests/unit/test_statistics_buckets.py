"""The period of a statistics call cut into Oslo-calendar buckets (docs/statistics.md)."""

from __future__ import annotations

import datetime as dt

import pytest

from usecases.errors import Unprocessable
from usecases.statistics.buckets import MAX_BUCKETS, cut


def days(first: str, last: str, by: str) -> list[tuple[str, str, int]]:
    found = cut(dt.date.fromisoformat(first), dt.date.fromisoformat(last), by)  # type: ignore[arg-type]
    return [(b.first_day.isoformat(), b.last_day.isoformat(), b.days) for b in found]


def test_tertials_are_january_may_and_september_across_a_new_year() -> None:
    assert days("2025-09-01", "2026-05-10", "tertial") == [
        ("2025-09-01", "2025-12-31", 122),
        ("2026-01-01", "2026-04-30", 120),
        ("2026-05-01", "2026-05-10", 10),
    ]


def test_weeks_start_on_monday_and_run_over_the_new_year() -> None:
    # 1 January 2026 is a Thursday: its ISO week began Monday 29 December 2025.
    assert days("2025-12-27", "2026-01-06", "week") == [
        ("2025-12-27", "2025-12-28", 2),
        ("2025-12-29", "2026-01-04", 7),
        ("2026-01-05", "2026-01-06", 2),
    ]


def test_months_and_their_edges_at_oslo_midnight() -> None:
    (october,) = cut(dt.date(2026, 10, 1), dt.date(2026, 10, 31), "month")
    # Summer time to 25 October: the month starts at 22:00 UTC and ends at 23:00 UTC.
    assert october.start == dt.datetime(2026, 9, 30, 22, tzinfo=dt.UTC)
    assert october.end == dt.datetime(2026, 10, 31, 23, tzinfo=dt.UTC)
    assert len(cut(dt.date(2026, 1, 1), dt.date(2026, 1, 1), "month")) == 1


@pytest.mark.parametrize(
    ("first", "last", "by"),
    [
        ("2026-02-01", "2026-01-31", "month"),
        ("2026-01-01", "2026-01-31", "year"),
        ("0001-01-01", "2026-01-31", "month"),
        ("2000-01-01", "2026-01-31", "week"),
    ],
)
def test_periods_that_cannot_be_counted_are_refused(first: str, last: str, by: str) -> None:
    with pytest.raises(Unprocessable) as refused:
        days(first, last, by)
    assert refused.value.problems


def test_the_most_buckets_a_call_may_ask_for() -> None:
    first = dt.date(2026, 1, 5)  # a Monday
    assert len(cut(first, first + dt.timedelta(weeks=MAX_BUCKETS) - dt.timedelta(1), "week")) == 400
