"""Recounting a pathway's facts (docs/statistics.md, "How fresh the figures are").

A refresh deletes the pathway's counts per day (:class:`store.facts.StatDay`,
:class:`store.facts.StatAck`) and counts them again from the tables, every figure as one
``INSERT ... SELECT`` (the database counts; no row comes to Python), in one transaction:
a statistics call reads either the old counts or the new ones, never half of each. On
PostgreSQL two refreshes of one pathway take turns (an advisory lock), and the second does
nothing when the first has just counted.

The scheduler refreshes every pathway every ``STATS_REFRESH_SECONDS``; a statistics call
refreshes a pathway whose counts are older than ``STATS_MAX_AGE_SECONDS`` first.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel

import store.facts  # noqa: F401  (the tables below on SQLModel.metadata)
from store.db import session_scope
from store.facts import StatRefresh
from store.pathways import compiled, version_row
from triage import Pathway
from usecases.statistics import overrides, queries, schedule

__all__ = ["countable", "counted_at", "ensure_fresh", "refresh", "refresh_all"]

DAY_COLUMNS = ("pathway_id", "figure", "day", "key", "n")
GAP_COLUMNS = ("pathway_id", "patient_id", "after", "until")
ACK_COLUMNS = ("pathway_id", "day", "level", "seconds", "in_time", "n")


def counted_at(session: Session, pathways: Iterable[str]) -> dict[str, dt.datetime]:
    """When each pathway's facts were counted (absent: never)."""
    table = StatRefresh.__table__  # type: ignore[attr-defined]
    query = sa.select(table.c.pathway_id, table.c.at).where(table.c.pathway_id.in_(list(pathways)))
    found: dict[str, dt.datetime] = {}
    for pathway, at in session.execute(query):
        found[pathway] = at
    return found


def _stale(at: dt.datetime | None, now: dt.datetime, max_age: dt.timedelta | None) -> bool:
    """``max_age`` None: the counts must be of exactly ``now``."""
    if at is None:
        return True
    if max_age is None:
        return at != now
    return at > now or now - at > max_age


def ensure_fresh(
    pathways: list[str], now: dt.datetime, max_age: dt.timedelta | None
) -> dict[str, dt.datetime]:
    """Refresh each pathway whose counts are missing or stale; when each is counted."""
    with session_scope() as session:
        known = counted_at(session, pathways)
    for pathway in pathways:
        if _stale(known.get(pathway), now, max_age):
            with session_scope() as session:
                known[pathway] = refresh(session, pathway, now, max_age)
    return known


def refresh_all(now: dt.datetime, max_age: dt.timedelta) -> int:
    """The scheduler's refresh: every pathway published or with enrolments whose counts
    are older than ``max_age``; how many were counted."""
    with session_scope() as session:
        pathways = sorted(countable(session))
    before = dict.fromkeys(pathways)
    with session_scope() as session:
        before.update(counted_at(session, pathways))
    fresh = ensure_fresh(pathways, now, max_age)
    return sum(1 for p in pathways if fresh.get(p) != before[p])


def countable(session: Session) -> set[str]:
    """Every pathway published or with enrolments (one that ended stays countable)."""
    tables = queries.TABLES
    found = sa.union(
        sa.select(tables["pathwayversion"].c.pathway_id),
        sa.select(tables["enrolment"].c.pathway_id),
    )
    return {p for (p,) in session.execute(found)}


def refresh(
    session: Session, pathway: str, now: dt.datetime, max_age: dt.timedelta | None = None
) -> dt.datetime:
    """Count the pathway's facts as of ``now`` in ``session``'s transaction (unless another
    refresh counted them meanwhile, fresh enough); when they are counted."""
    day, ack, gap = (SQLModel.metadata.tables[t] for t in ("statday", "statack", "statgap"))
    # The write comes first: on SQLite the transaction takes the write lock before it
    # reads, so a refresh never has to upgrade a read snapshot another writer has moved.
    session.execute(sa.delete(day).where(day.c.pathway_id == pathway))
    if session.get_bind().dialect.name == "postgresql":
        key = sa.func.hashtext(sa.literal(f"statistics:{pathway}"))
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))
    known = counted_at(session, [pathway]).get(pathway)
    if not _stale(known, now, max_age) and known is not None:
        session.rollback()
        return known
    started = time.perf_counter()
    session.execute(sa.delete(day).where(day.c.pathway_id == pathway))
    session.execute(sa.delete(ack).where(ack.c.pathway_id == pathway))
    session.execute(sa.delete(gap).where(gap.c.pathway_id == pathway))
    for counts in _day_facts(session, pathway, now):
        session.execute(sa.insert(day).from_select(DAY_COLUMNS, counts))
    session.execute(
        sa.insert(ack).from_select(ACK_COLUMNS, queries.acknowledgements(session, pathway))
    )
    if (scheduled := _scheduled(session, pathway)) is not None:
        session.execute(sa.insert(gap).from_select(GAP_COLUMNS, schedule.gaps(session, scheduled)))
    took = round((time.perf_counter() - started) * 1000)
    row = session.get(StatRefresh, pathway)
    if row is None:
        session.add(StatRefresh(pathway_id=pathway, at=now, took_ms=took))
    else:
        row.at, row.took_ms = now, took
        session.add(row)
    return now


def _day_facts(session: Session, pathway: str, now: dt.datetime) -> list[Any]:
    found: list[Any] = [
        queries.uploads(session, pathway),
        queries.results(session, pathway),
        queries.contacts(session, pathway),
        queries.overdue(session, pathway, now),
        *queries.alert_load(session, pathway),
        overrides.fired(session, pathway),
        overrides.overridden(session, pathway),
    ]
    if (scheduled := _scheduled(session, pathway)) is not None:
        # One statement, so the chain of due times is computed once for both figures.
        dues = schedule.chain(session, scheduled)
        due = schedule.fell_due(session, dues, scheduled, now)
        answered = schedule.answered(session, dues, pathway)
        found.append(sa.union_all(due, answered))
        found.append(schedule.responses(session, scheduled))
    return found


def _scheduled(session: Session, pathway_id: str) -> Pathway | None:
    """The newest published version when it has a schedule and a questionnaire."""
    row = version_row(session, pathway_id)
    pathway = compiled(row) if row is not None else None
    if pathway is None or pathway.schedule is None or not pathway.questionnaires:
        return None
    return pathway
