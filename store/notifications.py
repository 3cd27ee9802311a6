"""The notification outbox (docs/notifications.md): events for the patient ("task ready",
"reminder", "result ready"), each a row written in the transaction of the change that
causes it and delivered afterwards by the worker to the configured channel.

A row holds ids only (patient, pathway, task, upload), the patient's link, and the kind:
never health data, so neither the table nor the channel learns a level or an answer.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from store.models import UTCDateTime, new_id, utcnow

__all__ = ["KINDS", "STATUSES", "Notification"]

KINDS = ("task-ready", "reminder", "result-ready")
# pending: to be delivered (again at next_attempt_at); sent: the channel took it; logged: no
# channel configured, written to the log instead; failed: retried for a day, given up.
STATUSES = ("pending", "sent", "logged", "failed")


class Notification(SQLModel, table=True):
    """One event for one patient. ``idempotency_key`` is UNIQUE: the same event enqueued
    twice (a job run again, a periodic run repeated) is one row, and the channel receives
    it under that key on every attempt."""

    __table_args__ = (Index("ix_notification_due", "status", "next_attempt_at"),)

    id: str = Field(default_factory=lambda: new_id("n"), primary_key=True)
    kind: str
    patient_id: str = Field(foreign_key="patient.id", index=True)
    pathway_id: str
    task_id: str | None = None
    resource_id: str | None = None
    link: str | None = None
    idempotency_key: str = Field(unique=True)
    status: str = "pending"
    attempts: int = 0
    next_attempt_at: dt.datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    # The error's type and the channel's HTTP status only: never a body or a message that
    # could quote patient data.
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    sent_at: dt.datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
