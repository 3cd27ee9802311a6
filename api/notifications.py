"""The notification outbox for staff: ``GET /api/notifications?status=failed`` and the rest.
The work is done by :mod:`usecases.notifications`."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.auth import Staff
from api.shapes import iso
from store.notifications import Notification as Row
from usecases import notifications

router = APIRouter(tags=["notifications"])

StatusName = Literal["pending", "sent", "logged", "failed"]


class Notification(BaseModel):
    id: str
    kind: Literal["task-ready", "reminder", "result-ready"]
    patient: str
    pathway: str
    task: str | None
    resource: str | None
    link: str | None = Field(description="the patient's form link, /skjema/{token}")
    status: StatusName
    attempts: int
    next_attempt: str | None = Field(description="when a pending event is tried next")
    last_error: str | None = Field(description="the channel's HTTP status or the error's type")
    created: str | None
    sent: str | None

    @classmethod
    def of(cls, row: Row) -> Notification:
        return cls.model_validate(
            {
                "id": row.id,
                "kind": row.kind,
                "patient": row.patient_id,
                "pathway": row.pathway_id,
                "task": row.task_id,
                "resource": row.resource_id,
                "link": row.link,
                "status": row.status,
                "attempts": row.attempts,
                "next_attempt": iso(row.next_attempt_at),
                "last_error": row.last_error,
                "created": iso(row.created),
                "sent": iso(row.sent_at),
            }
        )


class Notifications(BaseModel):
    notifications: list[Notification] = Field(description="newest first")


@router.get("/api/notifications", response_model=Notifications)
def read_notifications(
    principal: Staff,
    status: StatusName | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Notifications:
    """Events for patients (task ready, reminder, result ready) of the pathways granted to
    the caller, newest first; ``status=failed`` lists those the channel never took. The
    read is audited for each patient shown."""
    rows = notifications.read_notifications(principal, status, limit)
    return Notifications(notifications=[Notification.of(r) for r in rows])
