"""The Oslo calendar day of a stored time, as the statistics count by it: the same day in
SQL as zoneinfo gives, on both databases, around midnight and the nights the clocks move."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from store.db import session_scope
from store.models import UTCDateTime
from tests.conftest import Service
from usecases.statistics.days import day_of

OSLO = ZoneInfo("Europe/Oslo")
UTC = dt.UTC

AWKWARD = [
    dt.datetime(2026, 1, 31, 22, 59, 59, 999999, tzinfo=UTC),  # 23:59:59.999999 in Oslo
    dt.datetime(2026, 1, 31, 23, 0, tzinfo=UTC),  # midnight in Oslo: the next day
    dt.datetime(2026, 3, 28, 22, 59, 59, tzinfo=UTC),  # the last second before the spring night
    dt.datetime(2026, 3, 28, 23, 0, tzinfo=UTC),  # 29 March 00:00 in Oslo (still +01:00)
    dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # 03:00 summer time
    dt.datetime(2026, 3, 29, 21, 59, 59, tzinfo=UTC),  # 23:59:59 summer time
    dt.datetime(2026, 3, 29, 22, 0, tzinfo=UTC),  # 30 March 00:00 summer time
    dt.datetime(2026, 10, 24, 21, 59, tzinfo=UTC),  # 24 Oct 23:59 summer time
    dt.datetime(2026, 10, 24, 22, 0, tzinfo=UTC),  # 25 Oct 00:00 summer time
    dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 02:30 summer time, then the clocks move back
    dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC),  # 02:30 again, winter time
    dt.datetime(2026, 10, 25, 22, 59, tzinfo=UTC),  # 25 Oct 23:59 winter time
    dt.datetime(2026, 10, 25, 23, 0, tzinfo=UTC),  # 26 Oct 00:00
    dt.datetime(2024, 2, 28, 23, 30, tzinfo=UTC),  # a leap day in Oslo
    dt.datetime(2025, 12, 31, 23, 0, tzinfo=UTC),  # new year in Oslo, not yet in UTC
]


@pytest.mark.parametrize("when", AWKWARD, ids=lambda w: w.isoformat())
def test_the_database_finds_the_oslo_day_as_zoneinfo_does(
    service: Service, when: dt.datetime
) -> None:
    with session_scope() as session:
        found = session.execute(
            sa.select(day_of(session, sa.literal(when, UTCDateTime())))
        ).scalar_one()
    assert found == when.astimezone(OSLO).date()
