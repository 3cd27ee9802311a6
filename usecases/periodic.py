"""The periodic jobs: re-send outbox rows the broker never got or lost, and flag overdue responses.

Re-send: a row never handed over (``dispatched_at`` empty: the broker was down) is sent
once it is a few seconds old; a row handed over long ago and still not done (a worker
killed with the task, a message the broker lost) is sent again. Each re-send of a row that
had been handed over counts in ``Outbox.attempts``; after :data:`MAX_RESENDS` the row is
shown as failed instead, so a task that kills its worker cannot loop for ever.

Overdue: see :func:`triage.worklist.overdue_due`. Each missing response is flagged once:
its reason carries a key with the due time, and no item of the patient and pathway (open
or resolved) with that key is flagged again.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial

import sqlalchemy as sa
from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from messaging.dispatch import dispatch
from runtime import clock, metrics
from store.db import session_scope
from store.models import Enrolment, Outbox, Resource, UTCDateTime, WorklistItem
from store.pathways import compiled, latest_rows
from triage import Level, Pathway
from triage.worklist import due_time, overdue_due, overdue_text
from usecases.judging import items
from usecases.judging.job import record_failure, with_conflict_retry

log = logging.getLogger(__name__)

UNDISPATCHED_AFTER = dt.timedelta(seconds=5)  # the API dispatches right after its commit
# A row handed over this long ago and still not done is sent again (OUTBOX_STALE_SECONDS).
STALE_AFTER = dt.timedelta(seconds=600)
MAX_RESENDS = 5
BATCH = 500


def resend_outbox(
    now: dt.datetime | None = None,
    undispatched_after: dt.timedelta = UNDISPATCHED_AFTER,
    stale_after: dt.timedelta = STALE_AFTER,
    limit: int = BATCH,
) -> int:
    """Hand over again the rows that need it (at most ``limit``); return how many were sent.

    The worker's task passes ``OUTBOX_STALE_SECONDS`` as ``stale_after``."""
    now = now or dt.datetime.now(dt.UTC)
    with session_scope() as session:
        found = session.exec(
            select(Outbox.id, Outbox.dispatched_at, Outbox.attempts)
            .where(
                col(Outbox.done_at).is_(None),
                or_(
                    and_(
                        col(Outbox.dispatched_at).is_(None),
                        col(Outbox.created) <= now - undispatched_after,
                    ),
                    col(Outbox.dispatched_at) <= now - stale_after,
                ),
            )
            .order_by(col(Outbox.id))
            .limit(limit)
        ).all()
    rows = [(oid, sent, attempts) for oid, sent, attempts in found if oid is not None]
    lost = [oid for oid, sent, attempts in rows if sent is not None and attempts >= MAX_RESENDS]
    ids = [oid for oid, _, _ in rows if oid not in set(lost)]
    for oid in lost:
        record_failure(oid, "lost", MAX_RESENDS, "re-sent without an answer")
    sent = dispatch(ids) if ids else 0
    metrics.OUTBOX_RESENT.inc(sent)
    redone = [oid for oid, at, _ in rows if at is not None and oid in set(ids[:sent])]
    if redone:
        with session_scope() as session:
            session.execute(
                sa.update(Outbox)
                .where(Outbox.id.in_(redone))  # type: ignore[union-attr]
                .values(attempts=Outbox.attempts + 1)
            )
    if rows:
        log.info("outbox re-send: %d sent, %d shown as failed", sent, len(lost))
    return sent


def mark_overdue(now: dt.datetime | None = None) -> int:
    """Flag enrolled patients whose scheduled response is overdue; return how many items."""
    now = now or clock.now()
    with session_scope() as session:
        pathways = {
            row.pathway_id: p
            for row in latest_rows(session)
            if (p := compiled(row)).schedule is not None and p.questionnaires
        }
        if not pathways:
            return 0
        enrolments = session.exec(
            select(Enrolment).where(
                Enrolment.active == True,  # noqa: E712
                Enrolment.pathway_id.in_(pathways),  # type: ignore[attr-defined]
            )
        ).all()
        last = _last_responses(session, {u for p in pathways.values() for u in p.questionnaires})
    flagged = 0
    for enrolment in enrolments:
        pathway = pathways[enrolment.pathway_id]
        assert pathway.schedule is not None
        answered = [last.get((enrolment.patient_id, u)) for u in pathway.questionnaires]
        newest = max((t for t in answered if t is not None), default=None)
        due = overdue_due(pathway.schedule, newest, enrolment.enrolled_at, now)
        if due is None:
            continue
        flag = partial(_flag, patient_id=enrolment.patient_id, pathway=pathway, due=due, now=now)
        done = with_conflict_retry(flag)
        flagged += int(done)
    if flagged:
        log.info("overdue: %d worklist item(s) flagged", flagged)
    return flagged


def _last_responses(session: Session, urls: set[str]) -> dict[tuple[str, str], dt.datetime]:
    when = sa.type_coerce(
        func.max(func.coalesce(Resource.data_time, Resource.received_at)), UTCDateTime()
    )
    rows = session.exec(
        select(Resource.patient_id, Resource.canonical_url, when)
        .where(
            Resource.resource_type == "QuestionnaireResponse",
            col(Resource.canonical_url).in_(urls),
            col(Resource.withdrawn).is_(False),  # a response withdrawn was never given
        )
        .group_by(col(Resource.patient_id), col(Resource.canonical_url))
    ).all()
    return {(patient_id, url): at for patient_id, url, at in rows if patient_id and url is not None}


def _flag(
    session: Session, patient_id: str, pathway: Pathway, due: dt.datetime, now: dt.datetime
) -> bool:
    key = f"overdue:{due.astimezone(dt.UTC).isoformat()}"
    seen = session.exec(
        select(WorklistItem).where(
            WorklistItem.patient_id == patient_id, WorklistItem.pathway_id == pathway.id
        )
    ).all()
    if any(items.has_reason(item, key) for item in seen):
        return False
    reason = {
        "rule": None,
        "level": Level.YELLOW.label,
        "text": overdue_text(due, pathway.language),
        "kind": "overdue",
        "key": key,
        "due": due.isoformat(),
        "at": due.astimezone(dt.UTC).isoformat(),
    }
    item = items.apply_problem(
        session,
        patient_id=patient_id,
        pathway_id=pathway.id,
        kind="overdue",
        reason=reason,
        due=due_time(Level.YELLOW, None, now),
        now=now,
        ruleset={"pathway": pathway.id, "version": pathway.version, "sha256": pathway.sha256},
    )
    return item is not None
