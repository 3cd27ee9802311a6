"""The judging job finds each code's window in SQL (usecases/judging/evaluation.py): back
from the newest reading by the window's length, in the same statement that loads the
readings. The time arithmetic must give the instants Python gives, and compare with stored
times exactly at the edge, on both databases (SQLite keeps times as text)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from store.db import session_scope
from store.models import UTCDateTime
from store.sqltime import seconds_before
from tests.conftest import Service

AWKWARD = [
    dt.datetime(2026, 3, 1, 0, 0, 0, 123456, tzinfo=dt.UTC),  # back across a month's end
    dt.datetime(2024, 3, 1, 0, 0, 30, tzinfo=dt.UTC),  # back across a leap day
    dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC),  # the night Oslo moves its clocks
    dt.datetime(2026, 1, 1, 0, 0, 0, 999999, tzinfo=dt.UTC),  # into the year before
]
SPANS = [1, 3600, 3 * 86400 + 2 * 86400, 32 * 86400]  # a second, an hour, 3 days + slack, a month


def _time(value: dt.datetime) -> sa.ColumnElement[dt.datetime]:
    return sa.literal(value, UTCDateTime())


@pytest.mark.parametrize("seconds", SPANS)
def test_a_window_reaches_back_exactly_as_far_as_python_says(
    service: Service, seconds: int
) -> None:
    with session_scope() as session:
        for when in AWKWARD:
            start = when - dt.timedelta(seconds=seconds)
            edge = seconds_before(session.get_bind().dialect.name, _time(when), seconds)
            found = session.execute(sa.select(edge)).scalar_one()
            assert found == start, (when, seconds)
            # A reading at the edge is in the window; one a microsecond older is not.
            inside = session.execute(sa.select(_time(start) >= edge)).scalar_one()
            before = start - dt.timedelta(microseconds=1)
            outside = session.execute(sa.select(_time(before) >= edge)).scalar_one()
            assert (bool(inside), bool(outside)) == (True, False), (when, seconds)
