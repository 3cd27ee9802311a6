"""The period of a statistics call cut into buckets on the Oslo calendar (pure: no SQL).

``week`` is an ISO week (Monday to Monday), ``month`` a calendar month, ``tertial`` one of
Jan-Apr, May-Aug, Sep-Dec. Every edge is local midnight in Europe/Oslo; the first and last
bucket are cut at the period's ends. docs/statistics.md says why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from usecases.errors import Unprocessable

__all__ = ["MAX_BUCKETS", "OSLO", "Bucket", "BucketSize", "cut"]

BucketSize = Literal["week", "month", "tertial"]
OSLO = ZoneInfo("Europe/Oslo")
MAX_BUCKETS = 400


@dataclass(frozen=True, slots=True)
class Bucket:
    """One bucket: ``[start, end)`` as UTC instants, and its Oslo calendar days."""

    index: int
    first_day: dt.date
    last_day: dt.date  # included
    start: dt.datetime
    end: dt.datetime

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


def midnight(day: dt.date) -> dt.datetime:
    """Local midnight in Oslo at the start of ``day``, as a UTC instant."""
    return dt.datetime.combine(day, dt.time(), OSLO).astimezone(dt.UTC)


def _next_edge(day: dt.date, by: BucketSize) -> dt.date:
    """The first day of the bucket after the one ``day`` is in."""
    if by == "week":
        return day + dt.timedelta(days=7 - day.weekday())
    if by == "month":
        return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    first_month = ((day.month - 1) // 4) * 4 + 1  # 1, 5 or 9
    following = first_month + 4
    return dt.date(day.year + (following > 12), (following - 1) % 12 + 1, 1)


def cut(first: dt.date, last: dt.date, by: BucketSize) -> list[Bucket]:
    """The buckets of the period ``first`` to ``last`` (both days included)."""
    problems = []
    if last < first:
        problems.append("to: the period ends before it starts")
    if by not in ("week", "month", "tertial"):
        problems.append("by: use week, month or tertial")
    if first.year < 1900 or last.year > 9000:
        problems.append("from/to: the period is outside the years this service counts")
    if problems:
        raise Unprocessable("the period cannot be counted", problems)
    buckets: list[Bucket] = []
    day = first
    while day <= last:
        if len(buckets) == MAX_BUCKETS:
            raise Unprocessable(
                "the period has too many buckets",
                [f"from/to/by: at most {MAX_BUCKETS} buckets in one call"],
            )
        until = min(_next_edge(day, by), last + dt.timedelta(days=1))
        edge = until - dt.timedelta(days=1)
        buckets.append(Bucket(len(buckets), day, edge, midnight(day), midnight(until)))
        day = until
    return buckets
