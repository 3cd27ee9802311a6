"""The clinicians' worklists: read, acknowledge, resolve, override; and what triage missed."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query
from sqlalchemy import ColumnElement, and_, func, or_
from sqlmodel import Session, col, select

from api import shapes
from api.auth import DbSession, Principal, Staff, audit, forbidden
from api.schemas import (
    LEVEL_OF_RANK,
    RANK,
    LevelName,
    NoteBody,
    OverrideBody,
    StatusName,
    iso,
    item_view,
)
from api.shapes import described
from store.models import Outbox, Patient, Resource, WorklistEvent, WorklistItem, utcnow
from triage import Level
from triage.worklist import sort_rank

router = APIRouter(tags=["worklist"])

Cursor = tuple[int, dt.datetime | None, str]


@router.get("/api/worklist", **described(shapes.Worklist))
def read_worklist(
    principal: Staff,
    session: DbSession,
    pathway: str | None = None,
    level: LevelName | None = None,
    status: StatusName = "open",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """The worklist: red, yellow, green, earliest due first; counts; a cursor to the next page."""
    conditions = _visible(principal, pathway, status)
    counts = dict.fromkeys(RANK, 0)
    for rank, count in session.exec(
        select(WorklistItem.sort_rank, func.count())
        .where(*conditions)
        .group_by(col(WorklistItem.sort_rank))
    ):
        counts[LEVEL_OF_RANK.get(rank, "yellow")] += count
    page = list(conditions)
    if level is not None:
        page.append(col(WorklistItem.sort_rank) == RANK[level])
    if cursor is not None:
        page.append(_after(_decode(cursor)))
    rows = session.exec(
        select(WorklistItem, Patient)
        .join(Patient, col(Patient.id) == col(WorklistItem.patient_id))
        .where(*page)
        .order_by(
            col(WorklistItem.sort_rank),
            col(WorklistItem.due).asc().nulls_last(),
            col(WorklistItem.id),
        )
        .limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    # One audit event per patient shown (queryable by patient_id), naming the items seen.
    shown: dict[str, list[str]] = {}
    for item, _ in rows:
        shown.setdefault(item.patient_id, []).append(item.id)
    for patient_id, item_ids in shown.items():
        audit(session, principal, "worklist.read", patient_id, items=item_ids)
    session.commit()
    last = rows[-1][0] if rows else None
    return {
        "items": [item_view(item, patient) for item, patient in rows],
        "counts": counts,
        "next": _encode((last.sort_rank, last.due, last.id)) if more and last else None,
    }


def _visible(principal: Principal, pathway: str | None, status: str) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [col(WorklistItem.status) == status]
    if pathway is not None:
        if not principal.may_see_pathway(pathway):
            raise forbidden(f"pathway {pathway!r} is not granted to this token")
        conditions.append(col(WorklistItem.pathway_id) == pathway)
    elif "*" not in principal.pathways:
        conditions.append(col(WorklistItem.pathway_id).in_(sorted(principal.pathways)))
    return conditions


def _after(last: Cursor) -> ColumnElement[bool]:
    """Rows strictly after ``last`` in (rank, due NULLs last, id) order."""
    rank, due, item_id = last
    rank_col, due_col, id_col = (
        col(WorklistItem.sort_rank),
        col(WorklistItem.due),
        col(WorklistItem.id),
    )
    if due is None:
        same_rank = and_(due_col.is_(None), id_col > item_id)
    else:
        same_rank = or_(
            due_col.is_(None),
            due_col > due,
            and_(due_col == due, id_col > item_id),
        )
    return or_(rank_col > rank, and_(rank_col == rank, same_rank))


def _encode(last: Cursor) -> str:
    rank, due, item_id = last
    raw = json.dumps([rank, iso(due), item_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        rank, due, item_id = json.loads(raw)
        if not isinstance(rank, int) or not isinstance(item_id, str):
            raise ValueError("bad cursor")
        when = dt.datetime.fromisoformat(due) if due is not None else None
        if when is not None and when.tzinfo is None:
            raise ValueError("bad cursor")
        if when is not None:
            when = when.astimezone(dt.UTC)  # OverflowError for a forged year 1 or 9999
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise HTTPException(400, detail="the cursor is not one this service gave out") from None
    return rank, when, item_id


@router.post("/api/worklist/{item_id}/acknowledge", **described(shapes.WorklistItem))
def acknowledge(
    item_id: str, principal: Staff, session: DbSession, body: NoteBody | None = None
) -> dict[str, Any]:
    """Acknowledge an open item: who and when are recorded."""
    item = _item_to_change(session, principal, item_id)
    if item.status != "open":
        raise HTTPException(409, detail=f"the item is {item.status}, not open")
    now = utcnow()
    item.status, item.acknowledged_by, item.acknowledged_at = "acknowledged", principal.subject, now
    return _save(session, principal, item, "acknowledged", now, body)


@router.post("/api/worklist/{item_id}/resolve", **described(shapes.WorklistItem))
def resolve(
    item_id: str, principal: Staff, session: DbSession, body: NoteBody | None = None
) -> dict[str, Any]:
    """Resolve an item; the next data for this patient and pathway opens a new one."""
    item = _item_to_change(session, principal, item_id)
    if item.status == "resolved":
        raise HTTPException(409, detail="the item is already resolved")
    now = utcnow()
    item.status, item.resolved_by, item.resolved_at = "resolved", principal.subject, now
    item.open_key = None
    return _save(session, principal, item, "resolved", now, body)


@router.post("/api/worklist/{item_id}/override", **described(shapes.WorklistItem))
def override(
    item_id: str,
    principal: Staff,
    session: DbSession,
    body: Annotated[OverrideBody, Body()],
) -> dict[str, Any]:
    """Set the clinician's level beside the engine's; the item sorts by it."""
    item = _item_to_change(session, principal, item_id)
    if item.status == "resolved":
        raise HTTPException(409, detail="a resolved item cannot be overridden")
    now = utcnow()
    item.override_level, item.override_reason = body.level, body.reason
    item.override_by, item.override_at = principal.subject, now
    item.sort_rank = sort_rank(Level.parse(item.level), Level.parse(body.level))
    detail = {"engine_level": item.level, "reason": body.reason}
    return _save(session, principal, item, "override", now, None, level=body.level, **detail)


@router.delete("/api/worklist/{item_id}/override", **described(shapes.WorklistItem))
def clear_override(item_id: str, principal: Staff, session: DbSession) -> dict[str, Any]:
    """Take a clinician's level back: the item is shown and sorted by the engine's level
    again. The history keeps the override that was cleared, and who cleared it."""
    item = _item_to_change(session, principal, item_id)
    if item.status == "resolved":
        raise HTTPException(409, detail="a resolved item cannot be changed")
    if item.override_level is None:
        raise HTTPException(409, detail="the item has no override to clear")
    detail = {"cleared": item.override_level, "reason": item.override_reason}
    detail["set_by"] = item.override_by
    item.override_level = item.override_reason = item.override_by = None
    item.override_at = None
    item.sort_rank = sort_rank(Level.parse(item.level))
    return _save(session, principal, item, "override-cleared", utcnow(), None, **detail)


def _item_to_change(session: Session, principal: Principal, item_id: str) -> WorklistItem:
    query = select(WorklistItem).where(col(WorklistItem.id) == item_id).with_for_update()
    item = session.exec(query).first()
    if item is None:
        raise HTTPException(404, detail="no such worklist item")
    if not principal.may_see_pathway(item.pathway_id):
        raise forbidden(f"pathway {item.pathway_id!r} is not granted to this token")
    return item


def _save(
    session: Session,
    principal: Principal,
    item: WorklistItem,
    change: str,
    now: dt.datetime,
    body: NoteBody | None,
    level: str | None = None,
    **detail: Any,
) -> dict[str, Any]:
    note = body.note if body is not None else None
    if note:
        item.note = note
        detail["note"] = note
    item.updated = now
    session.add(item)
    session.add(
        WorklistEvent(
            item_id=item.id,
            at=now,
            actor=principal.subject,
            change=change,
            level=level or item.override_level or item.level,
            detail=detail,
        )
    )
    audit(session, principal, f"worklist.{change}", item.patient_id, target=item.id)
    session.commit()
    patient = session.get(Patient, item.patient_id)
    assert patient is not None  # a foreign key guarantees it
    return item_view(item, patient)


@router.get("/api/unrouted", **described(shapes.Unrouted))
def unrouted(
    principal: Staff, session: DbSession, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> dict[str, Any]:
    """Accepted data no pathway read, and uploads triage failed on: for a person to look at."""
    resources = session.exec(
        select(Resource)
        .where(col(Resource.routed).is_(False))
        .order_by(col(Resource.received_at).desc())
        .limit(limit)
    ).all()
    failed = session.exec(
        select(Outbox)
        .where(col(Outbox.failed).is_(True))
        .order_by(col(Outbox.created).desc())
        .limit(limit)
    ).all()
    for patient_id in {r.patient_id for r in resources} | {o.patient_id for o in failed}:
        audit(session, principal, "unrouted.read", patient_id)
    session.commit()
    return {
        "unrouted": [
            {
                "resourceType": r.resource_type,
                "id": r.id,
                "patient": r.patient_id,
                "questionnaire": r.canonical_url,
                "data_time": iso(r.data_time),
                "received": iso(r.received_at),
                "location": f"/fhir/{r.resource_type}/{r.id}",
            }
            for r in resources
        ],
        "failed": [
            {
                "outbox": o.id,
                "patient": o.patient_id,
                "resources": o.resource_ids,
                "attempts": o.attempts,
                "error": o.last_error,
                "created": iso(o.created),
            }
            for o in failed
        ],
    }
