"""The periodic job that creates the form tasks due (docs/tasks.md), in set-based SQL.

The due rule is the schedule chain's (:mod:`usecases.statistics.schedule`, the rule of
:func:`triage.worklist.overdue_due`): a period of follow-up's first questionnaire falls due
``every`` after its start; the next ``every`` after the response that answered the one
before (the first response at or after its due time). So for each open period the job
looks at the patient's newest task of the pathway: none in this period gives the start +
``every``; a completed one gives its answer + ``every``; a ready one gives nothing (a task
stays open until answered or cancelled). One ``INSERT ... SELECT ... ON CONFLICT DO
NOTHING`` per pathway creates every task due by ``now``; the UNIQUE key (patient, pathway,
due) makes a second run, or two runs at once, create each task once.

Then the ready tasks whose response is already stored (an answer that came before the job
created its task) are completed, and the job goes round again, until nothing more falls
due: a patient enrolled long ago gets the chain's whole past, answered, and its open task.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from runtime import clock
from store.db import session_scope
from store.models import Enrolment, EnrolmentPeriod, Resource, UTCDateTime
from store.pathways import compiled, latest_rows
from store.sqltime import shifted
from store.tasks import FormTask
from triage import Pathway
from usecases.tasks.lifecycle import complete_found, on_task_ready, ready_with_answers

__all__ = ["MAX_ROUNDS", "create_due_tasks"]

log = logging.getLogger(__name__)
MAX_ROUNDS = 60  # rounds of create-then-complete per pathway and run; the next run goes on

_TASK = FormTask.__table__  # type: ignore[attr-defined]
_PERIOD = EnrolmentPeriod.__table__  # type: ignore[attr-defined]
_ENROLMENT = Enrolment.__table__  # type: ignore[attr-defined]


def create_due_tasks(now: dt.datetime | None = None) -> int:
    """Create the form tasks due by ``now`` (default: :func:`runtime.clock.now`) for every
    enrolled patient of every pathway with a ``schedule`` and questionnaires; return how
    many were created. Idempotent."""
    now = now or clock.now()
    with session_scope() as session:
        pathways = [
            p
            for row in latest_rows(session)
            if (p := compiled(row)).schedule is not None and p.questionnaires
        ]
    created = 0
    for pathway in sorted(pathways, key=lambda p: p.id):
        version = _questionnaire_version(pathway.questionnaires[0])
        for _ in range(MAX_ROUNDS):
            with session_scope() as session:
                made = _create(session, pathway, version, now)
                if made:
                    _test_pause()
                answered = ready_with_answers(session, pathway.id)
                complete_found(session, answered, now)
                done = {task_id for task_id, _, _ in answered}
                for task in _tasks(session, [t for t in made if t not in done]):
                    on_task_ready(session, task)  # HOOK issue 14: the "task ready" notification
            created += len(made)
            if not made:
                break
    if created:
        log.info("form tasks: %d created", created)
    return created


def _questionnaire_version(url: str) -> str | None:
    """The version of the newest stored Questionnaire of ``url`` (None when none is)."""
    with session_scope() as session:
        body = session.exec(
            select(Resource.body)
            .where(Resource.resource_type == "Questionnaire", Resource.canonical_url == url)
            .order_by(col(Resource.received_at).desc(), col(Resource.id).desc())
            .limit(1)
        ).first()
    version = (body or {}).get("version")
    return str(version) if version else None


def _new_id(session: Session) -> Any:
    """A task id of 128 random bits, made by the database (``t-`` and 32 hex digits)."""
    if session.get_bind().dialect.name == "sqlite":
        return sa.literal("t-") + sa.func.lower(sa.func.hex(sa.func.randomblob(16)))
    return sa.literal("t-") + sa.func.replace(sa.cast(sa.func.gen_random_uuid(), sa.Text), "-", "")


def _due(session: Session, pathway: Pathway) -> sa.Subquery:
    """Per open period of the pathway: the patient and the next due time (NULL when the
    newest task is still ready)."""
    assert pathway.schedule is not None
    t, p, e = _TASK, _PERIOD, _ENROLMENT
    newest = (
        sa.select(t.c.patient_id, sa.func.max(t.c.due).label("due"))
        .where(t.c.pathway_id == pathway.id)
        .group_by(t.c.patient_id)
        .subquery("newest")
    )
    last = t.alias("last")
    anchor = sa.case(
        (sa.or_(last.c.id.is_(None), last.c.due <= p.c.started_at), p.c.started_at),
        (last.c.status == "completed", last.c.answered_at),
        else_=sa.null(),
    )
    return (
        sa.select(p.c.patient_id, shifted(session, anchor, pathway.schedule.every).label("due"))
        .select_from(
            p.join(e, e.c.id == p.c.enrolment_id)
            .outerjoin(newest, newest.c.patient_id == p.c.patient_id)
            .outerjoin(
                last,
                sa.and_(
                    last.c.patient_id == newest.c.patient_id,
                    last.c.pathway_id == pathway.id,
                    last.c.due == newest.c.due,
                ),
            )
        )
        .where(p.c.pathway_id == pathway.id, p.c.ended_at.is_(None), e.c.active.is_(True))
        .subquery("next")
    )


def _create(session: Session, pathway: Pathway, version: str | None, now: dt.datetime) -> list[str]:
    """Insert the tasks due by ``now``; the ids of those this statement created."""
    assert pathway.schedule is not None
    late = pathway.schedule.overdue_after
    nxt = _due(session, pathway)
    at = sa.literal(now, UTCDateTime())
    until = shifted(session, nxt.c.due, late) if late is not None else sa.null()
    rows = sa.select(
        _new_id(session),
        nxt.c.patient_id,
        sa.literal(pathway.id, sa.String()),
        nxt.c.due,
        sa.type_coerce(until, UTCDateTime()),
        sa.literal(pathway.questionnaires[0], sa.String()),
        sa.literal(version, sa.String()),
        sa.literal("ready", sa.String()),
        sa.literal(1, sa.Integer()),
        at,
        at,
    ).where(nxt.c.due.is_not(None), nxt.c.due <= at)
    columns = [
        "id",
        "patient_id",
        "pathway_id",
        "due",
        "until",
        "questionnaire_url",
        "questionnaire_version",
        "status",
        "version_id",
        "created",
        "updated",
    ]
    dialect = postgresql if session.get_bind().dialect.name != "sqlite" else sqlite
    statement = (
        dialect.insert(_TASK)
        .from_select(columns, rows)
        .on_conflict_do_nothing(index_elements=["patient_id", "pathway_id", "due"])
        .returning(_TASK.c.id)
    )
    return [str(task_id) for task_id in session.execute(statement).scalars()]


def _tasks(session: Session, ids: list[str]) -> list[FormTask]:
    found: list[FormTask] = []
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        found += session.exec(select(FormTask).where(col(FormTask.id).in_(chunk))).all()
    return found


def _test_pause() -> None:
    """Test-only hook (the fault suite): with ENVIRONMENT=test and
    FORM_TASKS_TEST_PAUSE_SECONDS set, hold the transaction open after inserting a round
    of tasks, so a test can kill the job halfway or race another run against it."""
    seconds = os.environ.get("FORM_TASKS_TEST_PAUSE_SECONDS")
    if seconds and os.environ.get("ENVIRONMENT") == "test":
        log.warning("test pause in the form-task job, before committing")
        time.sleep(float(seconds))
