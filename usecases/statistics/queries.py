"""The figures of docs/statistics.md as SQL aggregations, one query per figure and pathway
over all buckets at once (a bucket table joined on time), on SQLite and PostgreSQL alike.
Only counts come back to Python, never the rows they count."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import SQLModel

from store.models import UTCDateTime
from usecases.judging.items import ACTOR
from usecases.statistics.buckets import Bucket

__all__ = [
    "CONTACTS",
    "LEVELS",
    "TABLES",
    "BucketTable",
    "acknowledgements",
    "alert_load",
    "bucket_table",
    "contacts",
    "enrolments",
    "overdue_in_buckets",
    "overdue_now",
    "results",
    "spans",
    "uploads",
]

LEVELS = ("red", "yellow", "green")
CONTACTS = ("none", "digital", "phone", "video", "physical", "not_recorded")
ACTED = ("acknowledged", "resolved", "override", "override-cleared")

Counts = dict[int, dict[str, int]]

# The tables, and their columns as SQL expressions.
TABLES = SQLModel.metadata.tables
Enrolment = TABLES["enrolment"].c
Period = TABLES["enrolmentperiod"].c
Resource = TABLES["resource"].c
TriageResult = TABLES["triageresult"].c
Event = TABLES["worklistevent"].c
Item = TABLES["worklistitem"].c


@dataclass(frozen=True, slots=True)
class BucketTable:
    """The buckets as a table ``b`` (``i``, ``s``, ``e``), and :meth:`within`."""

    table: sa.Subquery
    buckets: tuple[Bucket, ...]

    @property
    def c(self) -> Any:
        return self.table.c

    def join(self, right: Any, onclause: ColumnElement[bool]) -> sa.Join:
        return self.table.join(right, onclause)

    def within(self, when: Any) -> ColumnElement[bool]:
        """``when`` in bucket ``i`` (``s <= when < e``), as an equality the database can
        hash on: the bucket's index computed from the edges once per row (the buckets are
        contiguous and in order), not a comparison of every row with every bucket."""
        first, last = self.buckets[0], self.buckets[-1]
        index: ColumnElement[Any] = sa.literal(last.index, sa.Integer)
        if len(self.buckets) > 1:
            edges = ((when < sa.literal(b.end, UTCDateTime()), b.index) for b in self.buckets[:-1])
            index = sa.case(*edges, else_=last.index)
        return sa.and_(
            self.c.i == index,
            when >= sa.literal(first.start, UTCDateTime()),
            when < sa.literal(last.end, UTCDateTime()),
        )


def bucket_table(buckets: Sequence[Bucket]) -> BucketTable:
    """The buckets as a table ``b`` (``i``, ``s``, ``e``): joined by :meth:`BucketTable.within`."""
    parts = [
        sa.select(
            sa.literal(b.index, sa.Integer).label("i"),
            sa.literal(b.start, UTCDateTime()).label("s"),
            sa.literal(b.end, UTCDateTime()).label("e"),
        )
        for b in buckets
    ]
    return BucketTable(sa.union_all(*parts).subquery("b"), tuple(buckets))


def _within(b: BucketTable, when: Any) -> ColumnElement[bool]:
    return sa.and_(when >= b.c.s, when < b.c.e)


def _by_key(session: Session, query: sa.Select[Any]) -> Counts:
    out: Counts = {}
    for index, key, count in session.execute(query):
        out.setdefault(index, {})[key] = int(count)
    return out


def spans(pathway: str) -> sa.Subquery:
    """The pathway's periods of follow-up (several per enrolment when a follow-up ended and
    started again): ``enrolment_id``, ``patient_id``, ``started``, ``ended`` (NULL while
    open) and ``own`` (1 when the enrolment has own thresholds now, else 0)."""
    own = sa.cast(Enrolment.thresholds, sa.Text) != "{}"
    return (
        sa.select(
            Period.enrolment_id,
            Period.patient_id,
            Period.started_at.label("started"),
            Period.ended_at.label("ended"),
            sa.case((own, 1), else_=0).label("own"),
        )
        .select_from(TABLES["enrolmentperiod"])
        .join(TABLES["enrolment"], Enrolment.id == Period.enrolment_id)
        .where(Period.pathway_id == pathway)
        .subquery("spans")
    )


def enrolments(session: Session, b: BucketTable, pathway: str) -> dict[int, dict[str, int]]:
    """Per bucket: patients followed, periods started and ended in it, and the enrolments
    followed (with own thresholds)."""
    e = spans(pathway)
    active = sa.and_(e.c.started < b.c.e, sa.or_(e.c.ended.is_(None), e.c.ended >= b.c.s))
    query = (
        sa.select(
            b.c.i,
            sa.func.count(sa.distinct(e.c.patient_id)),
            sa.func.count(sa.distinct(e.c.enrolment_id)),
            sa.func.sum(sa.case((_within(b, e.c.started), 1), else_=0)),
            sa.func.sum(sa.case((_within(b, e.c.ended), 1), else_=0)),
            sa.func.count(sa.distinct(sa.case((e.c.own == 1, e.c.enrolment_id)))),
        )
        .select_from(b.join(e, active))
        .group_by(b.c.i)
    )
    return {
        index: {
            "patients": int(patients),
            "enrolments": int(rows),
            "new": int(new or 0),
            "ended": int(ended or 0),
            "own_thresholds": int(own or 0),
        }
        for index, patients, rows, new, ended, own in session.execute(query)
    }


def _judged_uploads(pathway: str) -> sa.Select[Any]:
    return sa.select(TriageResult.resource_id).where(
        TriageResult.pathway_id == pathway, TriageResult.kind == "upload"
    )


def uploads(session: Session, b: BucketTable, pathway: str) -> Counts:
    """Per bucket and FHIR type: uploads accepted and judged by the pathway, not withdrawn."""
    received = Resource.received_at
    query = (
        sa.select(b.c.i, Resource.resource_type, sa.func.count(sa.distinct(Resource.id)))
        .select_from(b.join(TABLES["resource"], b.within(received)))
        .where(
            Resource.id.in_(_judged_uploads(pathway)),
            Resource.withdrawn.is_(False),
        )
        .group_by(b.c.i, Resource.resource_type)
    )
    return _by_key(session, query)


def results(session: Session, b: BucketTable, pathway: str) -> Counts:
    """Per bucket and level: results of uploads (not withdrawn), by the time of their data."""
    when = sa.func.coalesce(TriageResult.data_time, TriageResult.created)
    query = (
        sa.select(b.c.i, TriageResult.level, sa.func.count())
        .select_from(b.join(TABLES["triageresult"], b.within(when)))
        .join(TABLES["resource"], Resource.id == TriageResult.resource_id)
        .where(
            TriageResult.pathway_id == pathway,
            TriageResult.kind == "upload",
            Resource.withdrawn.is_(False),
        )
        .group_by(b.c.i, TriageResult.level)
    )
    return _by_key(session, query)


def contacts(session: Session, b: BucketTable, pathway: str) -> Counts:
    """Per bucket: items resolved in it, by the contact recorded (or ``not_recorded``)."""
    contact = sa.func.coalesce(Item.contact, "not_recorded")
    query = (
        sa.select(b.c.i, contact, sa.func.count())
        .select_from(b.join(TABLES["worklistitem"], b.within(Item.resolved_at)))
        .where(Item.pathway_id == pathway)
        .group_by(b.c.i, contact)
    )
    return _by_key(session, query)


def _items_of(pathway: str) -> sa.Select[Any]:
    return sa.select(Item.id).where(Item.pathway_id == pathway)


def _seconds(session: Session, later: Any, earlier: Any) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "sqlite":
        return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0
    return sa.extract("epoch", later - earlier)


def _first_acks(pathway: str) -> sa.Subquery:
    """Each item's first acknowledgement (time, level shown) and its due time."""
    order = sa.func.row_number().over(
        partition_by=Event.item_id,
        order_by=(Event.at, Event.id),
    )
    acks = (
        sa.select(Event.item_id, Event.at, Event.level, order.label("n"))
        .join(TABLES["worklistitem"], Item.id == Event.item_id)
        .where(Item.pathway_id == pathway, Event.change == "acknowledged")
        .subquery("acks")
    )
    return (
        sa.select(acks.c.item_id, acks.c.at, acks.c.level, Item.due)
        .join(TABLES["worklistitem"], Item.id == acks.c.item_id)
        .where(acks.c.n == 1)
        .subquery("first_ack")
    )


def acknowledgements(session: Session, b: BucketTable, pathway: str) -> dict[int, Any]:
    """Per bucket and level: count, median and 90th percentile (nearest rank) in seconds
    from the item's first red/yellow event to its first acknowledgement; and how many
    red acknowledgements came by the item's due time."""
    first = _first_acks(pathway)
    started = (
        sa.select(Event.item_id, sa.func.min(Event.at).label("at"))
        .where(
            Event.item_id.in_(_items_of(pathway)),
            Event.actor == ACTOR,
            Event.level.in_(("red", "yellow")),
        )
        .group_by(Event.item_id)
        .subquery("started")
    )
    took = _seconds(session, first.c.at, started.c.at)
    timed = (
        sa.select(
            b.c.i,
            first.c.level,
            took.label("took"),
            sa.case((first.c.at <= first.c.due, 1), else_=0).label("in_time"),
        )
        .select_from(b.join(first, b.within(first.c.at)))
        .join(started, started.c.item_id == first.c.item_id)
        .where(started.c.at <= first.c.at)
        .subquery("timed")
    )
    group = (timed.c.i, timed.c.level)
    ranked = sa.select(
        timed,
        sa.func.row_number().over(partition_by=group, order_by=timed.c.took).label("r"),
        sa.func.count().over(partition_by=group).label("n"),
        sa.func.sum(timed.c.in_time).over(partition_by=group).label("in_time_n"),
    ).subquery("ranked")
    median, p90 = (ranked.c.n + 1) // 2, (9 * ranked.c.n + 9) // 10  # integer ceil(p * n)
    query = sa.select(
        ranked.c.i,
        ranked.c.level,
        ranked.c.n,
        ranked.c.in_time_n,
        ranked.c.r,
        ranked.c.took,
        ranked.c.r == median,
        ranked.c.r == p90,
    ).where(sa.or_(ranked.c.r == median, ranked.c.r == p90))
    out: dict[int, Any] = {}
    for index, level, n, in_time, _, took_s, is_median, is_p90 in session.execute(query):
        figure = out.setdefault(index, {}).setdefault(
            level, {"count": int(n), "in_time": int(in_time or 0)}
        )
        if is_median:
            figure["median_seconds"] = round(float(took_s))
        if is_p90:
            figure["p90_seconds"] = round(float(took_s))
    return out


def overdue_now(session: Session, pathway: str, now: dt.datetime) -> int:
    """Items not acknowledged nor resolved whose due time has passed."""
    query = sa.select(sa.func.count()).where(
        Item.pathway_id == pathway,
        Item.status == "open",
        Item.due < sa.literal(now, UTCDateTime()),
    )
    return int(session.execute(query).scalar_one())


def overdue_in_buckets(
    session: Session, b: BucketTable, pathway: str, now: dt.datetime
) -> dict[int, int]:
    """Per bucket: items due in it (and already due), neither acknowledged nor resolved by
    their due time."""
    acked = (
        sa.select(Event.item_id, sa.func.min(Event.at).label("at"))
        .where(Event.item_id.in_(_items_of(pathway)), Event.change == "acknowledged")
        .group_by(Event.item_id)
        .subquery("acked")
    )
    query = (
        sa.select(b.c.i, sa.func.count())
        .select_from(b.join(TABLES["worklistitem"], b.within(Item.due)))
        .outerjoin(acked, acked.c.item_id == Item.id)
        .where(
            Item.pathway_id == pathway,
            Item.due < sa.literal(now, UTCDateTime()),
            sa.or_(acked.c.at.is_(None), acked.c.at > Item.due),
            sa.or_(Item.resolved_at.is_(None), Item.resolved_at > Item.due),
        )
        .group_by(b.c.i)
    )
    return {index: int(count) for index, count in session.execute(query)}


def alert_load(session: Session, b: BucketTable, pathway: str) -> dict[int, dict[str, int]]:
    """Per bucket: items opened at red or yellow, and the clinicians who acted on items."""
    opened = (
        sa.select(b.c.i, sa.func.count(sa.distinct(Item.id)))
        .select_from(b.join(TABLES["worklistitem"], b.within(Item.created)))
        .join(TABLES["worklistevent"], Event.item_id == Item.id)
        .where(
            Item.pathway_id == pathway,
            Event.change == "created",
            Event.level.in_(("red", "yellow")),
        )
        .group_by(b.c.i)
    )
    people = (
        sa.select(b.c.i, sa.func.count(sa.distinct(Event.actor)))
        .select_from(b.join(TABLES["worklistevent"], b.within(Event.at)))
        .join(TABLES["worklistitem"], Item.id == Event.item_id)
        .where(
            Item.pathway_id == pathway,
            Event.change.in_(ACTED),
            Event.actor != ACTOR,
        )
        .group_by(b.c.i)
    )
    out: dict[int, dict[str, int]] = {}
    for index, count in session.execute(opened):
        out.setdefault(index, {})["opened"] = int(count)
    for index, count in session.execute(people):
        out.setdefault(index, {})["clinicians"] = int(count)
    return out
