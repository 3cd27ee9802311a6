"""Scheduled questionnaires in SQL (docs/statistics.md): the chain of due times of each
period of follow-up, computed by a recursive query, and the figures on it (response rate,
green share, avoided visits).

A response is *scheduled* when it is the first (not withdrawn) response to one of the
pathway's questionnaires at or after its due time; the first due time is ``every`` after
the enrolment start, the next ``every`` after the previous scheduled response: the rule of
:func:`triage.worklist.overdue_due`. :func:`shifted` adds a :class:`triage.Duration` in the
database exactly as :meth:`triage.Duration.after` does for the stored (UTC) times: calendar
months first, the day clamped to the month's end, then days, then elapsed time (the tests
compare the two on awkward dates, on both databases).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from store.facts import StatGap
from store.models import UTCDateTime
from store.sqltime import shifted
from triage import Pathway
from triage.durations import Duration
from usecases.statistics.buckets import Bucket
from usecases.statistics.days import NO_KEY, day_of, facts
from usecases.statistics.queries import (
    TABLES,
    Event,
    Item,
    Resource,
    TriageResult,
    not_withdrawn,
    seconds_between,
    spans,
)

__all__ = [
    "AVOIDED_WINDOW",
    "answered",
    "chain",
    "fell_due",
    "gaps",
    "responses",
    "shifted",
    "silent",
]

AVOIDED_WINDOW = Duration(0, 0, 0, 30, 0, 0, 0, "P30D")  # no physical contact this long after


def _responses(pathway: Pathway) -> sa.CTE:
    """The responses (not withdrawn) to the pathway's questionnaires, with their time."""
    r = Resource
    at = sa.type_coerce(sa.func.coalesce(r.data_time, r.received_at), UTCDateTime())
    return (
        sa.select(r.id, r.patient_id, at.label("at"))
        .where(
            r.resource_type == "QuestionnaireResponse",
            r.canonical_url.in_(pathway.questionnaires),
            r.withdrawn.is_(False),
        )
        .cte("responses")
        # Inlined where it is used: the first response after a due time is then found by
        # ix_resource_response, not by scanning every response once per due time.
        .prefix_with("NOT MATERIALIZED")
    )


def responses(session: Session, pathway: Pathway) -> sa.Select[Any]:
    """Per day: responses to the pathway's questionnaires from its enrolled patients while
    enrolled, scheduled or not (``responses``)."""
    found, e = _responses(pathway), spans(pathway.id)
    enrolled = sa.and_(
        e.c.patient_id == found.c.patient_id,
        found.c.at >= e.c.started,
        sa.or_(e.c.ended.is_(None), found.c.at < e.c.ended),
    )
    day = day_of(session, found.c.at).label("day")
    inner = (
        sa.select(
            day,
            sa.literal(NO_KEY, sa.String()).label("key"),
            sa.func.count(sa.distinct(found.c.id)).label("n"),
        )
        .select_from(found)
        .join(e, enrolled)
        .group_by(day)
    )
    return facts(inner, pathway.id, responses="n")


def chain(session: Session, pathway: Pathway) -> sa.CTE:
    """Every due time of every period of follow-up in the pathway (``patient_id``,
    ``ended``, ``due``, ``response``: the scheduled response's id, NULL while not answered).
    Each period has its own chain, from its own start: none falls due between periods."""
    assert pathway.schedule is not None
    every = pathway.schedule.every
    responses = _responses(pathway)

    def first_after(patient: Any, due: Any, ended: Any) -> Any:
        return (
            sa.select(responses.c.id)
            .where(
                responses.c.patient_id == patient,
                responses.c.at >= due,
                sa.or_(ended.is_(None), responses.c.at < ended),
            )
            .order_by(responses.c.at, responses.c.id)
            .limit(1)
            .scalar_subquery()
        )

    e = spans(pathway.id)
    start = shifted(session, e.c.started, every)
    anchor = sa.select(
        e.c.patient_id,
        e.c.ended,
        start.label("due"),
        first_after(e.c.patient_id, start, e.c.ended).label("response"),
    )
    dues = anchor.cte("dues", recursive=True)
    previous = responses.alias("previous")
    due = shifted(session, previous.c.at, every)
    step = (
        sa.select(
            dues.c.patient_id,
            dues.c.ended,
            due,
            first_after(dues.c.patient_id, due, dues.c.ended),
        )
        .select_from(dues)
        .join(previous, previous.c.id == dues.c.response)
    )
    return dues.union_all(step)


def fell_due(session: Session, dues: sa.CTE, pathway: Pathway, now: dt.datetime) -> sa.Select[Any]:
    """Per day due: scheduled questionnaires that fell due (before the enrolment ended;
    counted once answered or once their ``overdue_after`` has passed: ``due``), and those
    answered within ``overdue_after`` (``due_in_time``)."""
    assert pathway.schedule is not None
    late = pathway.schedule.overdue_after
    at = sa.select(Resource.id, Resource.data_time, Resource.received_at).subquery("answer")
    answered_at = sa.func.coalesce(at.c.data_time, at.c.received_at)
    now_ = sa.literal(now, UTCDateTime())
    given: ColumnElement[bool] = dues.c.response.is_not(None)
    counted: ColumnElement[bool]
    in_time: ColumnElement[bool]
    if late is None:  # no lateness set: any answer is in time
        counted, in_time = sa.or_(given, dues.c.due <= now_), given
    else:
        limit = shifted(session, dues.c.due, late)
        counted = sa.or_(given, limit <= now_)
        in_time = sa.and_(given, answered_at <= limit)
    day = day_of(session, dues.c.due).label("day")
    inner = (
        sa.select(
            day,
            sa.literal(NO_KEY, sa.String()).label("key"),
            sa.func.count().label("n"),
            sa.func.sum(sa.case((in_time, 1), else_=0)).label("in_time"),
        )
        .select_from(dues)
        .outerjoin(at, at.c.id == dues.c.response)
        .where(
            dues.c.due <= now_, counted, sa.or_(dues.c.ended.is_(None), dues.c.due < dues.c.ended)
        )
        .group_by(day)
    )
    return facts(inner, pathway.id, due="n", due_in_time="in_time")


def answered(session: Session, dues: sa.CTE, pathway_id: str) -> sa.Select[Any]:
    """Per day of the answer: scheduled questionnaires answered (``answered``), those whose
    own result was green (``green``), and those after which a visit was avoided
    (``avoided``)."""
    res = Resource
    when = sa.type_coerce(sa.func.coalesce(res.data_time, res.received_at), UTCDateTime())
    result = (
        sa.select(TriageResult.id, TriageResult.level, TriageResult.resource_id)
        .join(TABLES["resource"], res.id == TriageResult.resource_id)
        .where(
            TriageResult.pathway_id == pathway_id,
            TriageResult.kind == "upload",
            TriageResult.resource_version == res.version_id,
        )
        .subquery("own")
    )
    physical = TABLES["worklistitem"].alias("physical")
    visit = sa.exists().where(
        physical.c.patient_id == dues.c.patient_id,
        physical.c.pathway_id == pathway_id,
        physical.c.contact == "physical",
        physical.c.resolved_at >= when,
        physical.c.resolved_at <= shifted(session, when, AVOIDED_WINDOW),
    )
    spared = (
        sa.exists()
        .select_from(TABLES["worklistevent"].join(TABLES["worklistitem"], Item.id == Event.item_id))
        .where(
            Event.result_id == result.c.id,
            Item.contact.is_not(None),
            Item.contact != "physical",
        )
    )
    green = result.c.level == "green"
    avoided = sa.and_(sa.not_(visit), sa.or_(green, spared))
    day = day_of(session, when).label("day")
    inner = (
        sa.select(
            day,
            sa.literal(NO_KEY, sa.String()).label("key"),
            sa.func.count(sa.distinct(res.id)).label("n"),
            sa.func.count(sa.distinct(sa.case((green, res.id)))).label("green"),
            sa.func.count(sa.distinct(sa.case((avoided, res.id)))).label("avoided"),
        )
        .select_from(dues)
        .join(TABLES["resource"], res.id == dues.c.response)
        .outerjoin(result, result.c.resource_id == res.id)
        .group_by(day)
    )
    return facts(inner, pathway_id, answered="n", green="green", avoided="avoided")


def _shortest(duration: Duration) -> dt.timedelta:
    """At most the time ``duration`` can span (a month is at least 28 days, a year 365)."""
    days = duration.years * 365 + duration.months * 28 + duration.weeks * 7 + duration.days
    return dt.timedelta(
        days=days, hours=duration.hours, minutes=duration.minutes, seconds=duration.seconds
    )


def gaps(session: Session, pathway: Pathway) -> sa.Select[Any]:
    """Rows for :class:`store.facts.StatGap`: each patient's stretches without data (upload
    results of the pathway, not withdrawn) long enough to be silent in, that is at least
    ``every`` + ``overdue_after`` at their shortest, and the stretch before the first data
    (of every patient ever enrolled: no data at all gives one stretch with no ends)."""
    assert pathway.schedule is not None
    every, late = pathway.schedule.every, pathway.schedule.overdue_after
    shortest = _shortest(every) + (_shortest(late) if late is not None else dt.timedelta())
    when = sa.func.coalesce(TriageResult.data_time, TriageResult.created)
    data = (
        sa.select(TriageResult.patient_id, when.label("at"))
        .where(
            TriageResult.pathway_id == pathway.id,
            TriageResult.kind == "upload",
            not_withdrawn(TriageResult.resource_id),
        )
        .cte("data")
    )
    mine, order = data.c.patient_id, data.c.at
    steps = sa.select(
        data.c.patient_id,
        sa.func.lag(data.c.at).over(partition_by=mine, order_by=order).label("previous"),
        data.c.at,
        sa.func.lead(data.c.at).over(partition_by=mine, order_by=order).label("following"),
    ).subquery("steps")
    pid = sa.literal(pathway.id, sa.String()).label("pathway_id")
    long = steps.c.following.is_(None) | (
        seconds_between(session, steps.c.following, steps.c.at) >= shortest.total_seconds()
    )
    between = sa.select(pid, steps.c.patient_id, steps.c.at, steps.c.following).where(long)
    nothing = sa.cast(sa.null(), UTCDateTime())  # typed: PostgreSQL unites NULL as text
    before = sa.select(pid, steps.c.patient_id, nothing, steps.c.at).where(
        steps.c.previous.is_(None)
    )
    enrolled = spans(pathway.id)
    never = (
        sa.select(pid, enrolled.c.patient_id, nothing, nothing)
        .where(~sa.exists().where(data.c.patient_id == enrolled.c.patient_id))
        .distinct()
    )
    return sa.select(*sa.union_all(between, before, never).subquery("gaps").c)


def silent(
    session: Session, buckets: Sequence[Bucket], pathway: Pathway, now: dt.datetime
) -> dict[int, int]:
    """Per bucket: patients enrolled at its end (or now, if sooner) with no data for longer
    than ``every`` + ``overdue_after``: enrolled before, and no upload judged by the
    pathway (not withdrawn) since, ``T - overdue_after - every`` on the UTC calendar; found
    in the stretches without data the refresh counted (:func:`gaps`)."""
    assert pathway.schedule is not None
    every, late = pathway.schedule.every, pathway.schedule.overdue_after
    rows = []
    for bucket in buckets:
        if bucket.start > now:  # a bucket still to come: nobody is silent in it yet
            continue
        at = min(bucket.end, now)
        cut = every.before(late.before(at) if late is not None else at)
        rows.append(
            sa.select(
                sa.literal(bucket.index, sa.Integer).label("i"),
                sa.literal(at, UTCDateTime()).label("t"),
                sa.literal(cut, UTCDateTime()).label("c"),
            )
        )
    if not rows:
        return {}
    b = sa.union_all(*rows).subquery("moments")
    e = spans(pathway.id)
    gap = StatGap.__table__  # type: ignore[attr-defined]
    quiet = sa.exists().where(
        gap.c.pathway_id == pathway.id,
        gap.c.patient_id == e.c.patient_id,
        sa.or_(gap.c.after.is_(None), gap.c.after < b.c.c),
        sa.or_(gap.c.until.is_(None), gap.c.until > b.c.t),
    )
    enrolled = sa.and_(e.c.started < b.c.c, sa.or_(e.c.ended.is_(None), e.c.ended > b.c.t))
    query = (
        sa.select(b.c.i, sa.func.count(sa.distinct(e.c.patient_id)))
        .select_from(b.join(e, enrolled))
        .where(quiet)
        .group_by(b.c.i)
    )
    return {i: int(n) for i, n in session.execute(query)}
