"""The clinicians' worklists over HTTP: read, acknowledge, resolve, override; and what
triage missed. The work is done by :mod:`usecases.worklist`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field

from api import shapes
from api.auth import Staff
from api.schemas import LevelName, NoteBody, OverrideBody, ResolveBody, StatusName
from api.shapes import iso
from usecases import tasks, worklist

router = APIRouter(tags=["worklist"])


class WaitingTask(BaseModel):
    task: str = Field(description="the FHIR Task's id (GET /fhir/Task/{id})")
    patient: str
    name: str | None
    pathway: str
    due: str
    until: str | None = Field(description="due + overdue_after: the answer is late after it")
    overdue: bool
    reminders_sent: int


class WaitingList(BaseModel):
    waiting: list[WaitingTask]

    @classmethod
    def of(cls, found: list[Any]) -> WaitingList:
        return cls(
            waiting=[
                WaitingTask(
                    task=w.task.id,
                    patient=w.patient.id,
                    name=w.patient.name,
                    pathway=w.task.pathway_id,
                    due=iso(w.task.due) or "",
                    until=iso(w.task.until),
                    overdue=w.overdue,
                    reminders_sent=w.reminders,
                )
                for w in found
            ]
        )


@router.get("/api/worklist", response_model=shapes.Worklist)
def read_worklist(
    principal: Staff,
    pathway: str | None = None,
    level: LevelName | None = None,
    status: StatusName = "open",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> shapes.Worklist:
    """The worklist: red, yellow, green, earliest due first; counts; a cursor to the next page."""
    page = worklist.read_worklist(principal, pathway, level, status, cursor, limit)
    return shapes.Worklist.of(page)


@router.post("/api/worklist/{item_id}/acknowledge", response_model=shapes.WorklistItem)
def acknowledge(
    item_id: str, principal: Staff, body: NoteBody | None = None
) -> shapes.WorklistItem:
    """Acknowledge an open item: who and when are recorded."""
    note = body.note if body is not None else None
    return shapes.WorklistItem.of(worklist.acknowledge(item_id, principal, note))


@router.post("/api/worklist/{item_id}/resolve", response_model=shapes.WorklistItem)
def resolve(item_id: str, principal: Staff, body: ResolveBody | None = None) -> shapes.WorklistItem:
    """Resolve an item; the next data for this patient and pathway opens a new one. The
    contact that actually happened may be recorded with it."""
    body = body if body is not None else ResolveBody()
    return shapes.WorklistItem.of(worklist.resolve(item_id, principal, body.note, body.contact))


@router.post("/api/worklist/{item_id}/override", response_model=shapes.WorklistItem)
def override(
    item_id: str, principal: Staff, body: Annotated[OverrideBody, Body()]
) -> shapes.WorklistItem:
    """Set the clinician's level beside the engine's; the item sorts by it."""
    return shapes.WorklistItem.of(worklist.override(item_id, principal, body.level, body.reason))


@router.delete("/api/worklist/{item_id}/override", response_model=shapes.WorklistItem)
def clear_override(item_id: str, principal: Staff) -> shapes.WorklistItem:
    """Take a clinician's level back: the item is shown and sorted by the engine's level
    again. The history keeps the override that was cleared, and who cleared it."""
    return shapes.WorklistItem.of(worklist.clear_override(item_id, principal))


@router.get("/api/unrouted", response_model=shapes.Unrouted)
def unrouted(principal: Staff, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> shapes.Unrouted:
    """Accepted data no pathway read, and uploads triage failed on: for a person to look at."""
    return shapes.Unrouted.of(worklist.unrouted(principal, limit))


@router.get("/api/worklist/waiting", response_model=WaitingList)
def read_waiting(
    principal: Staff,
    pathway: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> WaitingList:
    """Waiting for an answer ("venter på svar"): patients whose form task is ready, the
    earliest due first, with the reminders sent and whether the answer is overdue."""
    return WaitingList.of(tasks.waiting(principal, pathway, limit))
