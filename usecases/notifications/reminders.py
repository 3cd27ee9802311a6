"""Reminders: for each ready form task, an event at its due time plus each of the
pathway's ``schedule.remind_after`` (docs/notifications.md, "Reminders")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from sqlmodel import Session, col, select

from runtime import clock
from store.db import session_scope
from store.pathways import compiled, latest_rows
from store.tasks import FormTask
from triage import Pathway
from usecases.notifications.outbox import FormTask as TaskOfPatient
from usecases.notifications.outbox import enqueue, form_link

__all__ = ["ReadyTask", "ready_tasks", "send_reminders"]


class ReadyTask(TaskOfPatient, Protocol):
    """A form task with status ``ready`` (``store.tasks.FormTask``): what any notification
    needs of a task, and ``due``, the start of its restriction period."""

    @property
    def due(self) -> dt.datetime: ...


def ready_tasks(session: Session, pathway_ids: Sequence[str], due_before: dt.datetime) -> list[Any]:
    """The tasks with status ``ready`` in these pathways that fell due at or before
    ``due_before`` (``due`` is the start of the task's period)."""
    return list(
        session.exec(
            select(FormTask).where(
                col(FormTask.status) == "ready",
                col(FormTask.pathway_id).in_(list(pathway_ids)),
                col(FormTask.due) <= due_before,
            )
        )
    )


TasksOf = Callable[[Session, Sequence[str], dt.datetime], Sequence[ReadyTask]]


def send_reminders(now: dt.datetime | None = None, tasks_of: TasksOf | None = None) -> int:
    """Enqueue the reminders that have fallen due; return how many were new.

    Of a task's reminders whose time has come only the latest is sent (key
    ``task:<id>:reminder:<n>``): a scheduler that was down sends one reminder when it comes
    back, not all the missed ones at once. A run repeated changes nothing (the keys)."""
    now = now or clock.now()
    find = tasks_of or ready_tasks
    new = 0
    with session_scope() as session:
        reminding = {
            row.pathway_id: p for row in latest_rows(session) if _reminds(p := compiled(row))
        }
        if not reminding:
            return 0
        for task in find(session, sorted(reminding), now):
            pathway = reminding.get(task.pathway_id)
            if pathway is None:
                continue
            number = _latest_due(pathway, task.due, now)
            if number is None:
                continue
            made = enqueue(
                session,
                "reminder",
                task.patient_id,
                pathway_id=task.pathway_id,
                task_id=task.id,
                key=f"task:{task.id}:reminder:{number}",
                link=form_link(task),
                now=now,
            )
            new += made is not None
    return new


def _reminds(pathway: Pathway) -> bool:
    return pathway.schedule is not None and bool(pathway.schedule.remind_after)


def _latest_due(pathway: Pathway, due: dt.datetime, now: dt.datetime) -> int | None:
    """The number (1-based) of the latest reminder whose time has come, if any."""
    assert pathway.schedule is not None
    number = None
    for n, after in enumerate(pathway.schedule.remind_after, start=1):
        if after.after(due) <= now:
            number = n
    return number
