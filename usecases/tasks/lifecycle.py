"""A form task's life after it is created (docs/tasks.md): completed by the scheduled
response to its questionnaire, ready again when that response is withdrawn or corrected so
that it no longer answers the task, cancelled when the follow-up ends. Each change happens in
the caller's transaction (the judging job's, the end of the enrolment's), and doing it
again changes nothing: only a ``ready`` task changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from runtime import clock
from store.models import Resource, UTCDateTime
from store.tasks import FormTask
from usecases import notifications

__all__ = [
    "cancel_for_enrolment",
    "complete_for_response",
    "complete_found",
    "on_task_ready",
    "ready_with_answers",
    "reopen_unanswered",
    "task_of",
]

_TASK = FormTask.__table__  # type: ignore[attr-defined]
_RESOURCE = Resource.__table__  # type: ignore[attr-defined]


def on_task_ready(session: Session, task: FormTask) -> None:
    """Called in the transaction that creates a ready task: the notification outbox's
    "task ready" event, with the patient's link to the form, is written with it."""
    notifications.task_ready(session, task)


def task_of(session: Session, task_id: str) -> FormTask | None:
    """The task of that id, or None."""
    return session.get(FormTask, task_id)


def _first_response(task: Any) -> sa.ScalarSelect[Any]:
    """The id of the first response (not withdrawn) to the task's questionnaire by its
    patient at or after its due time: the scheduled response."""
    r = _RESOURCE
    at = sa.func.coalesce(r.c.data_time, r.c.received_at)
    return (
        sa.select(r.c.id)
        .where(
            r.c.resource_type == "QuestionnaireResponse",
            r.c.patient_id == task.c.patient_id,
            r.c.canonical_url == task.c.questionnaire_url,
            r.c.withdrawn.is_(False),
            at >= task.c.due,
        )
        .order_by(at, r.c.id)
        .limit(1)
        .scalar_subquery()
    )


def ready_with_answers(
    session: Session, pathway_id: str | None = None, patient_id: str | None = None
) -> list[tuple[str, str, dt.datetime]]:
    """The ready tasks (of a pathway, or of a patient) whose scheduled response is stored:
    (task id, response id, the response's time)."""
    t, r = _TASK, _RESOURCE
    found = sa.select(t.c.id, _first_response(t).label("rid")).where(t.c.status == "ready")
    if pathway_id is not None:
        found = found.where(t.c.pathway_id == pathway_id)
    if patient_id is not None:
        found = found.where(t.c.patient_id == patient_id)
    pairs = found.subquery("pairs")
    at = sa.type_coerce(sa.func.coalesce(r.c.data_time, r.c.received_at), UTCDateTime())
    rows = session.execute(
        sa.select(pairs.c.id, pairs.c.rid, at).join(r, r.c.id == pairs.c.rid)
    ).all()
    return [(str(task_id), str(rid), when) for task_id, rid, when in rows]


def complete_found(
    session: Session, found: Sequence[tuple[str, str, dt.datetime]], now: dt.datetime
) -> int:
    """Complete the tasks of :func:`ready_with_answers` (still ready); how many changed."""
    if not found:
        return 0
    statement = (
        sa.update(_TASK)
        .where(_TASK.c.id == sa.bindparam("tid"), _TASK.c.status == "ready")
        .values(
            status="completed",
            response_id=sa.bindparam("rid"),
            answered_at=sa.bindparam("at", type_=UTCDateTime()),
            updated=sa.bindparam("now", type_=UTCDateTime()),
            version_id=_TASK.c.version_id + 1,
        )
    )
    params = [{"tid": t, "rid": r, "at": at, "now": now} for t, r, at in found]
    result = session.connection().execute(statement, params)
    return int(result.rowcount or 0)


def complete_for_response(session: Session, resource: Resource) -> int:
    """Complete the patient's ready tasks of the response's questionnaire that it (or an
    earlier response at or after their due time) answers; an unscheduled response (before
    any task's due time) leaves them alone. Returns how many were completed; again, none."""
    if resource.resource_type != "QuestionnaireResponse" or not resource.patient_id:
        return 0
    reopened = reopen_unanswered(session, resource)
    if not reopened and (resource.withdrawn or resource.canonical_url is None):
        return 0
    waiting = session.exec(
        select(FormTask.id).where(
            FormTask.patient_id == resource.patient_id,
            FormTask.questionnaire_url == resource.canonical_url,
            FormTask.status == "ready",
        )
    ).first()
    if waiting is None:  # the usual case: one indexed look, nothing to do
        return 0
    session.flush()
    found = ready_with_answers(session, patient_id=resource.patient_id)
    return complete_found(session, found, clock.now())


def reopen_unanswered(session: Session, resource: Resource) -> int:
    """Make ready again each task this response completed that it no longer answers: it was
    withdrawn (``entered-in-error``), or corrected to another questionnaire or to a time
    before the task's due time. The form is owed again, so the task is open again (the
    waiting list shows it, its link works), unless a later task of the same pathway already
    asks the patient for the form: then that one stands, and the old one stays as it was.
    Returns how many were reopened. A first version never completed a task before its own
    job (it is being judged now), so only a correction is looked at: no query for the rest."""
    if resource.version_id == 1:
        return 0
    completed = session.exec(
        select(FormTask).where(
            FormTask.patient_id == resource.patient_id,
            FormTask.response_id == resource.id,
            FormTask.status == "completed",
        )
    ).all()
    at = resource.data_time or resource.received_at
    reopened = 0
    for task in completed:
        if not (
            resource.withdrawn
            or resource.canonical_url != task.questionnaire_url
            or (at is not None and at < task.due)
        ):
            continue
        later = session.exec(
            select(FormTask.id).where(
                FormTask.patient_id == task.patient_id,
                FormTask.pathway_id == task.pathway_id,
                FormTask.due > task.due,
            )
        ).first()
        if later is not None:
            continue
        task.status, task.response_id, task.answered_at = "ready", None, None
        task.updated, task.version_id = clock.now(), task.version_id + 1
        session.add(task)
        reopened += 1
    if reopened:
        session.flush()
    return reopened


def cancel_for_enrolment(session: Session, patient_id: str, pathway_id: str) -> int:
    """Cancel the patient's open (ready) tasks of the pathway; how many."""
    result = session.connection().execute(
        sa.update(_TASK)
        .where(
            _TASK.c.patient_id == patient_id,
            _TASK.c.pathway_id == pathway_id,
            _TASK.c.status == "ready",
        )
        .values(
            status="cancelled",
            updated=sa.literal(clock.now(), UTCDateTime()),
            version_id=_TASK.c.version_id + 1,
        )
    )
    return int(result.rowcount or 0)


def open_tasks(session: Session, patient_id: str) -> list[FormTask]:
    """The patient's ready tasks, the earliest due first."""
    query = select(FormTask).where(FormTask.patient_id == patient_id, FormTask.status == "ready")
    return list(session.exec(query.order_by(col(FormTask.due))))
