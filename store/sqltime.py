"""Time arithmetic in SQL that the use cases share: :func:`seconds_before` moves a stored
time back by whole seconds (the judging job's windows); :func:`shifted` adds a pathway's
:class:`triage.Duration` to a stored time in the database, exactly as
:meth:`triage.Duration.after` does (the statistics' schedule chain and the form tasks'
due times; the tests compare the two on awkward dates, on both databases)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from store.models import UTCDateTime
from triage.durations import Duration

__all__ = ["seconds_before", "shifted"]


def shifted(session: Session, when: Any, duration: Duration) -> ColumnElement[Any]:
    """``when`` plus ``duration`` in SQL, as :meth:`Duration.after` on a UTC time."""
    months = duration.years * 12 + duration.months
    days = duration.weeks * 7 + duration.days
    if session.get_bind().dialect.name != "sqlite":
        naive = sa.func.timezone("UTC", when)
        interval = sa.func.make_interval(0, months, 0, days, duration.hours, duration.minutes)
        total = naive + interval + sa.func.make_interval(0, 0, 0, 0, 0, 0, duration.seconds)
        return sa.type_coerce(sa.func.timezone("UTC", total), UTCDateTime())
    # SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC): move the month, clamp the day.
    text = sa.String()
    first = sa.func.date(when, "start of month", f"+{months} months", type_=text)
    end = sa.func.strftime("%d", sa.func.date(first, "+1 month", "-1 day"), type_=text)
    day = sa.func.min(sa.cast(sa.func.strftime("%d", when), sa.Integer), sa.cast(end, sa.Integer))
    offset = sa.literal("+", text) + sa.cast(day - 1 + days, text) + " days"
    date = sa.func.date(first, offset, type_=text)
    clock = sa.func.strftime("%H:%M:%S", when, type_=text)
    moved = sa.func.datetime(
        date + " " + clock,
        f"+{duration.hours} hours",
        f"+{duration.minutes} minutes",
        f"+{duration.seconds} seconds",
        type_=text,
    )
    fraction = sa.func.substr(sa.type_coerce(when, text), 20, type_=text)
    return sa.type_coerce(moved + fraction, UTCDateTime())


def seconds_before(dialect: str, when: Any, seconds: int) -> ColumnElement[Any]:
    """``when`` minus ``seconds`` (a whole number) in SQL, comparable with a stored time, in
    ``dialect`` (``sqlite`` or ``postgresql``)."""
    if dialect != "sqlite":
        back = sa.func.make_interval(0, 0, 0, 0, 0, 0, seconds)
        return sa.type_coerce(
            sa.type_coerce(when, sa.DateTime(timezone=True)) - back, UTCDateTime()
        )
    # SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC). The whole seconds go through
    # datetime(), the fraction around it: datetime() counts in milliseconds and would round
    # .999999 up to the next second. (``when`` keeps its type: a bound time is text too.)
    text = sa.String()
    whole = sa.func.substr(when, 1, 19, type_=text)
    moved = sa.func.datetime(whole, f"-{int(seconds)} seconds", type_=text)
    fraction = sa.func.substr(when, 20, type_=text)
    return sa.type_coerce(moved + fraction, UTCDateTime())
