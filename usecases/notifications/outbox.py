"""Writing notification events: in the caller's transaction, once per idempotency key."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any, Protocol

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from runtime import clock
from store.models import new_id
from store.notifications import KINDS, Notification
from store.tasks import FormTask as StoredTask
from usecases.patient_form.link import form_link as patient_form_link
from usecases.patient_form.link import view_of

__all__ = ["FormTask", "enqueue", "form_link", "result_ready", "task_ready"]


class FormTask(Protocol):
    """What a notification needs of a form task (helper A's ``store.tasks.FormTask``):
    its id, whose it is, its pathway, and when it fell due (its period's start)."""

    @property
    def id(self) -> str: ...

    @property
    def patient_id(self) -> str: ...

    @property
    def pathway_id(self) -> str: ...


def form_link(task: FormTask) -> str | None:
    """The patient's link to the task's web form, ``/skjema/{token}`` (a path: the gateway
    puts the clinic's public address in front), expiring with the task's period."""
    if not isinstance(task, StoredTask):
        return None
    return patient_form_link(view_of(task))


def enqueue(
    session: Session,
    kind: str,
    patient_id: str,
    *,
    pathway_id: str,
    key: str,
    task_id: str | None = None,
    resource_id: str | None = None,
    link: str | None = None,
    now: dt.datetime | None = None,
) -> Notification | None:
    """Write one event in ``session``'s transaction (committed with the caller's change);
    ``None`` when an event with ``key`` exists already (``ON CONFLICT DO NOTHING`` on the
    UNIQUE key: no error, no savepoint, also when two transactions race)."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}; use one of {', '.join(KINDS)}")
    when = now or clock.now()
    row = Notification(
        id=new_id("n"),
        kind=kind,
        patient_id=patient_id,
        pathway_id=pathway_id,
        task_id=task_id,
        resource_id=resource_id,
        link=link,
        idempotency_key=key,
        status="pending",
        attempts=0,
        next_attempt_at=when,
        created=when,
    )
    statement = _insert_once(session.get_bind().dialect.name)
    inserted = session.execute(statement, row.model_dump()).scalar_one_or_none()
    return row if inserted is not None else None


@functools.lru_cache(maxsize=2)
def _insert_once(dialect: str) -> Any:
    """INSERT ... ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, built once per
    database: a judging job runs it for most results."""
    insert_for = pg_insert if dialect == "postgresql" else sqlite_insert
    table = Notification.__table__  # type: ignore[attr-defined]
    return (
        insert_for(table)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(table.c.id)
    )


def task_ready(session: Session, task: FormTask) -> Notification | None:
    """ "Task ready": the form fell due. JOIN POINT: helper A's ``on_task_ready(session,
    task)`` calls this in the transaction that creates the task."""
    return enqueue(
        session,
        "task-ready",
        task.patient_id,
        pathway_id=task.pathway_id,
        task_id=task.id,
        key=f"task:{task.id}:ready",
        link=form_link(task),
    )


def result_ready(
    session: Session,
    patient_id: str,
    pathway_id: str,
    resource_id: str,
    resource_version: int,
    now: dt.datetime,
) -> Notification | None:
    """ "Result ready": the pathway's message for the patient about one upload is stored
    (called where triage stores it, in that transaction). A corrected upload's new result is
    a new event; the same version judged again is not."""
    return enqueue(
        session,
        "result-ready",
        patient_id,
        pathway_id=pathway_id,
        resource_id=resource_id,
        key=f"result:{resource_id}:{resource_version}:{pathway_id}",
        now=now,
    )
