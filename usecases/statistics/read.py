"""A statistics call's sums: the counts per day of a pathway (:mod:`store.facts`) summed
into the call's buckets, the clinicians who acted counted once per bucket, and the time to
acknowledge as exact nearest-rank percentiles over the counted times."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from store.facts import StatAck, StatDay
from usecases.statistics.buckets import Bucket
from usecases.statistics.days import bucket_of, in_period

__all__ = ["acknowledgements", "sums"]

Sums = dict[str, dict[int, dict[str, int]]]  # figure -> bucket -> key -> count


def sums(session: Session, buckets: Sequence[Bucket], pathway: str) -> Sums:
    """Per figure, bucket and key: the counts of the days in the bucket; for ``actors``,
    the clinicians who acted in the bucket (under the key '')."""
    t = StatDay.__table__  # type: ignore[attr-defined]
    i = bucket_of(buckets, t.c.day).label("i")
    mine = sa.and_(t.c.pathway_id == pathway, in_period(buckets, t.c.day))
    counts = (
        sa.select(i, t.c.figure, t.c.key, sa.func.sum(t.c.n))
        .where(mine, t.c.figure != "actors")
        .group_by(i, t.c.figure, t.c.key)
    )
    people = (
        sa.select(i, t.c.figure, sa.literal("", sa.String()), sa.func.count(sa.distinct(t.c.key)))
        .where(mine, t.c.figure == "actors")
        .group_by(i, t.c.figure)
    )
    out: Sums = {}
    for index, figure, key, n in session.execute(sa.union_all(counts, people)):
        out.setdefault(figure, {}).setdefault(index, {})[key] = int(n)
    return out


def acknowledgements(
    session: Session, buckets: Sequence[Bucket], pathway: str
) -> dict[int, dict[str, Any]]:
    """Per bucket and level: count, how many came by the due time, and the median and 90th
    percentile in seconds (nearest rank: the time at rank ceil(p * n) of the sorted times)."""
    t = StatAck.__table__  # type: ignore[attr-defined]
    i = bucket_of(buckets, t.c.day).label("i")
    times = (
        sa.select(
            i,
            t.c.level,
            t.c.seconds,
            sa.func.sum(t.c.n).label("n"),
            sa.func.sum(t.c.in_time).label("in_time"),
        )
        .where(t.c.pathway_id == pathway, in_period(buckets, t.c.day))
        .group_by(i, t.c.level, t.c.seconds)
        .subquery("times")
    )
    group = (times.c.i, times.c.level)
    # sums as integers: PostgreSQL's sum of integers is numeric, and ranks divide below
    upto = sa.cast(
        sa.func.sum(times.c.n).over(partition_by=group, order_by=times.c.seconds), sa.BigInteger
    )
    total = sa.cast(sa.func.sum(times.c.n).over(partition_by=group), sa.BigInteger)
    ranked = sa.select(
        times.c.i,
        times.c.level,
        times.c.seconds,
        (upto - times.c.n).label("before"),
        upto.label("upto"),
        total.label("total"),
        sa.func.sum(times.c.in_time).over(partition_by=group).label("in_total"),
    ).subquery("ranked")
    median, p90 = (ranked.c.total + 1) // 2, (9 * ranked.c.total + 9) // 10  # ceil(p * n)

    def holds(rank: Any) -> Any:
        return sa.and_(ranked.c.before < rank, ranked.c.upto >= rank)

    query = sa.select(
        ranked.c.i,
        ranked.c.level,
        ranked.c.total,
        ranked.c.in_total,
        ranked.c.seconds,
        holds(median),
        holds(p90),
    ).where(sa.or_(holds(median), holds(p90)))
    out: dict[int, dict[str, Any]] = {}
    for index, level, n, in_time, seconds, is_median, is_p90 in session.execute(query):
        figure = out.setdefault(index, {}).setdefault(
            level, {"count": int(n), "in_time": int(in_time or 0)}
        )
        if is_median:
            figure["median_seconds"] = int(seconds)
        if is_p90:
            figure["p90_seconds"] = int(seconds)
    return out
