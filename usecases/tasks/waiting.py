"""Waiting for an answer ("venter på svar"): the patients whose form task is ready, in the
pathways the caller may see, the earliest due first, with the reminders sent and whether
the answer is overdue. One audit event per patient shown, as the worklist writes."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import col, select

from runtime import clock
from store.db import session_scope
from store.models import Patient
from store.notifications import Notification
from store.tasks import FormTask
from usecases.access import Actor, audit, require_pathway

__all__ = ["Waiting", "waiting"]


@dataclass(frozen=True)
class Waiting:
    task: FormTask
    patient: Patient
    reminders: int
    overdue: bool


def waiting(actor: Actor, pathway: str | None = None, limit: int = 200) -> list[Waiting]:
    """Ready form tasks, the earliest due first (at most ``limit``)."""
    mine = [col(FormTask.status) == "ready"]
    if pathway is not None:
        require_pathway(actor, pathway)
        mine.append(col(FormTask.pathway_id) == pathway)
    elif "*" not in actor.pathways:
        mine.append(col(FormTask.pathway_id).in_(sorted(actor.pathways)))
    now = clock.now()
    with session_scope() as session:
        rows = session.exec(
            select(FormTask, Patient)
            .join(Patient, col(Patient.id) == col(FormTask.patient_id))
            .where(*mine)
            .order_by(col(FormTask.due), col(FormTask.id))
            .limit(limit)
        ).all()
        ids = [task.id for task, _ in rows]
        sent = dict(
            session.exec(
                select(Notification.task_id, sa.func.count())
                .where(col(Notification.task_id).in_(ids), col(Notification.kind) == "reminder")
                .group_by(col(Notification.task_id))
            ).all()
        )
        shown: dict[str, list[str]] = {}
        for task, _ in rows:
            shown.setdefault(task.patient_id, []).append(task.id)
        for patient_id, tasks in shown.items():
            audit(session, actor, "tasks.read", patient_id, tasks=tasks)
        return [
            Waiting(
                task,
                patient,
                int(sent.get(task.id, 0)),
                task.until is not None and task.until < now,
            )
            for task, patient in rows
        ]
