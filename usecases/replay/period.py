"""The period a replay covers: ``since`` a duration back from now (``P90D``), or from one
Oslo calendar day to another, both included."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from triage.durations import parse_duration
from triage.worklist import LOCAL_TZ

DEFAULT_SINCE = "P90D"


class PeriodError(ValueError):
    """A period that cannot be read: the message says what to give instead."""


@dataclass(frozen=True)
class Period:
    """Uploads whose own time is at or after ``start`` and before ``end``."""

    start: dt.datetime
    end: dt.datetime
    text: str

    @property
    def days(self) -> float:
        return max((self.end - self.start).total_seconds() / 86400, 1e-9)

    def to_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "asked": self.text}


def _day(text: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"{what}: give a date as YYYY-MM-DD, not {text!r}") from None


def parse_period(since: str | None, start: str | None, end: str | None, now: dt.datetime) -> Period:
    """``since`` (an ISO 8601 duration) or ``start`` and ``end`` (dates); neither: P90D."""
    if since is not None and (start is not None or end is not None):
        raise PeriodError("give either since or from and to, not both")
    if start is not None or end is not None:
        if start is None or end is None:
            raise PeriodError("give both from and to (dates, YYYY-MM-DD)")
        first, last = _day(start, "from"), _day(end, "to")
        if last < first:
            raise PeriodError(f"to ({last}) is before from ({first})")
        begin = dt.datetime.combine(first, dt.time(), LOCAL_TZ).astimezone(dt.UTC)
        stop = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), LOCAL_TZ)
        return Period(begin, stop.astimezone(dt.UTC), f"{first}..{last}")
    text = since or DEFAULT_SINCE
    try:
        duration = parse_duration(text)
    except ValueError as exc:
        raise PeriodError(f"since: {exc}") from None
    return Period(duration.before(now), now, f"since {duration.text}")
