"""The patients' form tasks (issue 14, docs/tasks.md): one FHIR ``Task`` (SDC
``complete-questionnaire``) per patient, pathway and due time of the pathway's
``schedule``. The UNIQUE key (patient, pathway, due) is what creates each task once, however
many runs of the periodic job race; the FHIR JSON is built from the columns
(:func:`usecases.tasks.fhir.task_resource`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from store.models import _time, utcnow

__all__ = ["TASK_STATUSES", "FormTask"]

TASK_STATUSES = ("ready", "completed", "cancelled")


class FormTask(SQLModel, table=True):
    """A questionnaire the patient is asked to answer: ``ready`` from ``due`` until
    answered (``completed``, with the response) or the follow-up ends (``cancelled``);
    overdue, still ready, after ``until`` (due + the schedule's ``overdue_after``; NULL
    when the pathway sets none). ``answered_at`` is the response's time, from which the
    next task falls due."""

    __table_args__ = (
        UniqueConstraint("patient_id", "pathway_id", "due", name="uq_formtask_patient_due"),
        Index("ix_formtask_patient_status", "patient_id", "status"),
        Index("ix_formtask_pathway_status_due", "pathway_id", "status", "due"),
    )

    id: str = Field(primary_key=True)
    patient_id: str = Field(foreign_key="patient.id")
    pathway_id: str
    due: dt.datetime = _time(nullable=False)
    until: dt.datetime | None = _time(nullable=True)
    questionnaire_url: str
    questionnaire_version: str | None = None
    status: str = "ready"
    version_id: int = 1
    created: dt.datetime = _time(nullable=False, default=utcnow)
    updated: dt.datetime = _time(nullable=False, default=utcnow)
    response_id: str | None = None
    answered_at: dt.datetime | None = _time(nullable=True)
