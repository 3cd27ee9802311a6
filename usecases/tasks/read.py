"""Reading form tasks: ``GET /fhir/Task?patient=...&status=...`` and ``GET /fhir/Task/{id}``
(docs/tasks.md). A patient reads only their own tasks (another's is refused as forbidden,
whether it exists or not), as the other FHIR reads do (:mod:`usecases.fhir_read`); staff
read the tasks of the pathways granted to them, of a patient they may see, and every staff
read is audited in the same unit of work."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from store.db import session_scope
from store.tasks import FormTask
from usecases.access import Actor, audit, staff_patient
from usecases.errors import Refused, Why
from usecases.tasks.fhir import task_resource

__all__ = ["SEARCH_LIMIT", "read_task", "search_tasks"]

SEARCH_LIMIT = 100  # tasks in a searchset at most, the newest due first
NOT_ALLOWED = "not allowed for this token"


def _patient_of(reader: Actor, patient: str | None) -> str:
    """The patient searched for: ``Patient/ID`` or ``ID``; a patient's own when omitted."""
    wanted = patient.removeprefix("Patient/") if patient else None
    if not reader.is_staff:
        if reader.patient_id is None or wanted not in (None, reader.patient_id):
            raise Refused.one(Why.FORBIDDEN, "forbidden", NOT_ALLOWED)
        return reader.patient_id
    if not wanted:
        raise Refused.one(Why.INVALID, "required", "give the patient: patient=Patient/ID")
    return wanted


def search_tasks(reader: Actor, patient: str | None, status: str | None) -> list[dict[str, Any]]:
    """The patient's tasks (``status``: one code or several, comma-separated), newest due
    first; staff only of their granted pathways, audited."""
    patient_id = _patient_of(reader, patient)
    query = select(FormTask).where(FormTask.patient_id == patient_id)
    if status:
        query = query.where(col(FormTask.status).in_(status.split(",")))
    query = query.order_by(col(FormTask.due).desc(), col(FormTask.id)).limit(SEARCH_LIMIT)
    with session_scope() as session:
        if reader.is_staff:
            staff_patient(session, reader, patient_id)
        rows = list(session.exec(query))
        if reader.is_staff:
            rows = [t for t in rows if reader.may_see_pathway(t.pathway_id)]
        if reader.is_staff:
            audit(session, reader, "search", patient_id, f"Task?patient={patient_id}")
        return [task_resource(t) for t in rows]


def read_task(reader: Actor, task_id: str) -> dict[str, Any]:
    """One task by id: a patient only their own; staff of a granted pathway, audited."""
    with session_scope() as session:
        task = session.get(FormTask, task_id)
        if not reader.is_staff and (task is None or task.patient_id != reader.patient_id):
            raise Refused.one(Why.FORBIDDEN, "forbidden", NOT_ALLOWED)
        if task is None:
            raise Refused.one(Why.NOT_FOUND, "not-found", f"Task/{task_id} is not known")
        if reader.is_staff:
            staff_patient(session, reader, task.patient_id)
            if not reader.may_see_pathway(task.pathway_id):
                raise Refused.one(Why.FORBIDDEN, "forbidden", NOT_ALLOWED)
            audit(session, reader, "read", task.patient_id, f"Task/{task.id}")
        return task_resource(task)
