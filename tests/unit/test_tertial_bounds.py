"""The tertials of the WMGA28 report on the Oslo calendar (usecases/statistics/report.py):
local midnight at both ends, whatever the clocks do in between; bad ones refused."""

from __future__ import annotations

import datetime as dt

import pytest

from usecases.errors import Unprocessable
from usecases.statistics.report import tertial_bounds


@pytest.mark.parametrize(
    ("tertial", "first", "last", "start", "end"),
    [
        (1, "2026-01-01", "2026-04-30", "2025-12-31T23:00:00+00:00", "2026-04-30T22:00:00+00:00"),
        (2, "2026-05-01", "2026-08-31", "2026-04-30T22:00:00+00:00", "2026-08-31T22:00:00+00:00"),
        (3, "2026-09-01", "2026-12-31", "2026-08-31T22:00:00+00:00", "2026-12-31T23:00:00+00:00"),
    ],
)
def test_each_tertial_of_2026(tertial: int, first: str, last: str, start: str, end: str) -> None:
    bucket = tertial_bounds(2026, tertial)
    assert (bucket.first_day, bucket.last_day) == (
        dt.date.fromisoformat(first),
        dt.date.fromisoformat(last),
    )
    assert (bucket.start.isoformat(), bucket.end.isoformat()) == (start, end)


@pytest.mark.parametrize(("year", "tertial"), [(2026, 0), (2026, 4), (1899, 1), (9001, 3)])
def test_bad_tertials_are_refused_with_the_problem(year: int, tertial: int) -> None:
    with pytest.raises(Unprocessable) as refused:
        tertial_bounds(year, tertial)
    assert refused.value.problems and len(refused.value.problems) == 1
