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
from usecases.statistics.days import NO_KEY, day_of, facts

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
    "not_withdrawn",
    "overdue",
    "overdue_now",
    "results",
    "seconds_between",
    "spans",
    "uploads",
]

LEVELS = ("red", "yellow", "green")
CONTACTS = ("none", "digital", "phone", "video", "physical", "not_recorded")
ACTED = ("acknowledged", "resolved", "override", "override-cleared")

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


def not_withdrawn(resource_id: Any) -> ColumnElement[bool]:
    """The resource ``resource_id`` is data: not withdrawn (a few, found by their index)."""
    withdrawn = TABLES["resource"].alias("withdrawn")
    return sa.not_(
        sa.exists().where(withdrawn.c.id == resource_id, withdrawn.c.withdrawn.is_(True))
    )


def uploads(session: Session, pathway: str) -> sa.Select[Any]:
    """Per day received and FHIR type: uploads accepted and judged by the pathway, not
    withdrawn (``uploads``)."""
    day = day_of(session, Resource.received_at).label("day")
    key = Resource.resource_type.label("key")
    inner = (
        sa.select(day, key, sa.func.count(sa.distinct(Resource.id)).label("n"))
        .where(Resource.id.in_(_judged_uploads(pathway)), Resource.withdrawn.is_(False))
        .group_by(day, key)
    )
    return facts(inner, pathway, uploads="n")


def results(session: Session, pathway: str) -> sa.Select[Any]:
    """Per day of their data and level: results of uploads, not withdrawn (``results``)."""
    day = day_of(session, sa.func.coalesce(TriageResult.data_time, TriageResult.created))
    day, key = day.label("day"), TriageResult.level.label("key")
    inner = (
        sa.select(day, key, sa.func.count().label("n"))
        .where(
            TriageResult.pathway_id == pathway,
            TriageResult.kind == "upload",
            not_withdrawn(TriageResult.resource_id),
        )
        .group_by(day, key)
    )
    return facts(inner, pathway, results="n")


def contacts(session: Session, pathway: str) -> sa.Select[Any]:
    """Per day resolved: items by the contact recorded, or ``not_recorded`` (``contacts``)."""
    day = day_of(session, Item.resolved_at).label("day")
    key = sa.func.coalesce(Item.contact, "not_recorded").label("key")
    inner = (
        sa.select(day, key, sa.func.count().label("n"))
        .where(Item.pathway_id == pathway, Item.resolved_at.is_not(None))
        .group_by(day, key)
    )
    return facts(inner, pathway, contacts="n")


def _items_of(pathway: str) -> sa.Select[Any]:
    return sa.select(Item.id).where(Item.pathway_id == pathway)


def seconds_between(session: Session, later: Any, earlier: Any) -> ColumnElement[Any]:
    """``later - earlier`` in seconds, in SQL."""
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


def acknowledgements(session: Session, pathway: str) -> sa.Select[Any]:
    """Per day and level of each item's first acknowledgement: how many took how many
    seconds from the item's first red/yellow event, and how many of those came by the
    item's due time (rows for :class:`store.facts.StatAck`)."""
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
    day = day_of(session, first.c.at).label("day")
    took = sa.func.round(seconds_between(session, first.c.at, started.c.at))
    seconds = sa.cast(took, sa.Integer).label("seconds")
    in_time = sa.func.sum(sa.case((first.c.at <= first.c.due, 1), else_=0))
    return (
        sa.select(
            sa.literal(pathway, sa.String()).label("pathway_id"),
            day,
            first.c.level,
            seconds,
            in_time.label("in_time"),
            sa.func.count().label("n"),
        )
        .join(started, started.c.item_id == first.c.item_id)
        .where(started.c.at <= first.c.at)
        .group_by(day, first.c.level, seconds)
    )


def overdue_now(session: Session, pathway: str, now: dt.datetime) -> int:
    """Items not acknowledged nor resolved whose due time has passed."""
    query = sa.select(sa.func.count()).where(
        Item.pathway_id == pathway,
        Item.status == "open",
        Item.due < sa.literal(now, UTCDateTime()),
    )
    return int(session.execute(query).scalar_one())


def overdue(session: Session, pathway: str, now: dt.datetime) -> sa.Select[Any]:
    """Per day due: items already due, neither acknowledged nor resolved by their due time
    (``overdue``)."""
    acked = (
        sa.select(Event.item_id, sa.func.min(Event.at).label("at"))
        .where(Event.item_id.in_(_items_of(pathway)), Event.change == "acknowledged")
        .group_by(Event.item_id)
        .subquery("acked")
    )
    day = day_of(session, Item.due).label("day")
    inner = (
        sa.select(day, sa.literal(NO_KEY, sa.String()).label("key"), sa.func.count().label("n"))
        .select_from(TABLES["worklistitem"])
        .outerjoin(acked, acked.c.item_id == Item.id)
        .where(
            Item.pathway_id == pathway,
            Item.due < sa.literal(now, UTCDateTime()),
            sa.or_(acked.c.at.is_(None), acked.c.at > Item.due),
            sa.or_(Item.resolved_at.is_(None), Item.resolved_at > Item.due),
        )
        .group_by(day)
    )
    return facts(inner, pathway, overdue="n")


def alert_load(session: Session, pathway: str) -> list[sa.Select[Any]]:
    """Per day: items opened at red or yellow (``opened``), and per clinician the actions
    on items (``actors``: a call counts the clinicians of a bucket)."""
    day = day_of(session, Item.created).label("day")
    opened = (
        sa.select(
            day,
            sa.literal(NO_KEY, sa.String()).label("key"),
            sa.func.count(sa.distinct(Item.id)).label("n"),
        )
        .select_from(TABLES["worklistitem"])
        .join(TABLES["worklistevent"], Event.item_id == Item.id)
        .where(
            Item.pathway_id == pathway,
            Event.change == "created",
            Event.level.in_(("red", "yellow")),
        )
        .group_by(day)
    )
    acted = day_of(session, Event.at).label("day")
    people = (
        sa.select(acted, Event.actor.label("key"), sa.func.count().label("n"))
        .select_from(TABLES["worklistevent"])
        .join(TABLES["worklistitem"], Item.id == Event.item_id)
        .where(
            Item.pathway_id == pathway,
            Event.change.in_(ACTED),
            Event.actor != ACTOR,
        )
        .group_by(acted, Event.actor)
    )
    return [facts(opened, pathway, opened="n"), facts(people, pathway, actors="n")]
