"""Counting by the Oslo calendar day: the day of a stored time in SQL, the facts a refresh
writes (rows ``figure, day, key, n``), and the bucket a day falls in when a call sums them.

Every bucket edge is local midnight in Oslo (:mod:`.buckets`), so a count per Oslo day
sums exactly into any bucket: a week, a month, a tertial, or the period's cut ends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from usecases.statistics.buckets import Bucket

__all__ = ["NO_KEY", "Counting", "bucket_of", "day_of", "facts", "in_period"]

Counting = sa.Select[*tuple[Any, ...]]  # any select: its columns are named below
NO_KEY = ""  # the key of a figure that has none (how many items were opened on a day)


def day_of(session: Session, when: Any) -> ColumnElement[dt.date]:
    """The Europe/Oslo calendar day of the stored UTC time ``when``."""
    if session.get_bind().dialect.name == "sqlite":
        # store.db registers oslo_date on every SQLite connection (zoneinfo's rules)
        return sa.func.oslo_date(when, type_=sa.Date())
    local = sa.func.timezone(sa.literal_column("'Europe/Oslo'"), when)
    return sa.cast(local, sa.Date())


def facts(inner: Counting, pathway: str, **figures: str) -> Counting:
    """Rows ``pathway_id, figure, day, key, n`` from ``inner`` (columns ``day``, ``key`` and
    one count column per figure: ``figure=column``); counts of zero are left out."""
    counted = inner.cte(f"counted_{next(iter(figures))}")
    parts = [
        sa.select(
            sa.literal(pathway, sa.String()).label("pathway_id"),
            sa.literal(figure, sa.String()).label("figure"),
            counted.c.day,
            counted.c.key,
            counted.c[column].label("n"),
        ).where(counted.c[column] != 0)
        for figure, column in figures.items()
    ]
    if len(parts) == 1:
        return parts[0]
    union = sa.union_all(*parts).subquery("facts")
    return sa.select(*union.c)


def bucket_of(buckets: Sequence[Bucket], day: Any) -> ColumnElement[int]:
    """The index of the bucket ``day`` falls in (``day`` within the period)."""
    last = buckets[-1]
    if len(buckets) == 1:
        return sa.literal(last.index, sa.Integer())
    edges = ((day <= sa.literal(b.last_day, sa.Date()), b.index) for b in buckets[:-1])
    return sa.case(*edges, else_=last.index)


def in_period(buckets: Sequence[Bucket], day: Any) -> ColumnElement[bool]:
    return sa.and_(
        day >= sa.literal(buckets[0].first_day, sa.Date()),
        day <= sa.literal(buckets[-1].last_day, sa.Date()),
    )
