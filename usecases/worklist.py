"""The clinicians' worklists: read a page, acknowledge, resolve, override and clear an
override; and what triage missed (unrouted data, failed uploads).

Each use case is one unit of work (:func:`store.db.session_scope`): the rows it changes,
the item's history event and the audit of who read or changed which patient's data are
committed together, or not at all.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, func, or_
from sqlmodel import Session, col, select

from store.db import session_scope
from store.models import Outbox, Patient, Resource, WorklistEvent, WorklistItem, utcnow
from triage import Consultation, Level
from triage.worklist import sort_rank
from usecases.access import Actor, audit, require_pathway
from usecases.errors import Conflict, Invalid, NotFound, Unprocessable

__all__ = [
    "CONTACTS",
    "RANK",
    "Page",
    "Shown",
    "Unrouted",
    "acknowledge",
    "clear_override",
    "override",
    "read_worklist",
    "resolve",
    "unrouted",
]

RANK: dict[str, int] = {"red": 0, "yellow": 1, "green": 2}
# The contacts a resolution may record: the words of a rule's action.consultation, least
# demanding first (none, digital, phone, video, physical).
CONTACTS: tuple[str, ...] = tuple(consultation.label for consultation in Consultation)
LEVEL_OF_RANK: dict[int, str] = {rank: level for level, rank in RANK.items()}

Cursor = tuple[int, dt.datetime | None, str]


class Shown(NamedTuple):
    """A worklist item and its patient, as a clinician is shown them."""

    item: WorklistItem
    patient: Patient


@dataclass(frozen=True)
class Page:
    """One page of a worklist: its items, the open items per level over every page, and
    the cursor of the next page (None on the last)."""

    items: list[Shown]
    counts: dict[str, int]
    next: str | None


@dataclass(frozen=True)
class Unrouted:
    """Accepted data no pathway read, and uploads triage gave up on."""

    resources: list[Resource]
    failed: list[Outbox]


def read_worklist(
    actor: Actor,
    pathway: str | None = None,
    level: str | None = None,
    status: str = "open",
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """The worklist: red, yellow, green, earliest due first; counts; a cursor to the next
    page. One audit event per patient shown, naming the items seen."""
    conditions = _visible(actor, pathway, status)
    page = list(conditions)
    if level is not None:
        page.append(col(WorklistItem.sort_rank) == RANK[level])
    if cursor is not None:
        page.append(_after(_decode(cursor)))
    with session_scope() as session:
        counts = dict.fromkeys(RANK, 0)
        for rank, count in session.exec(
            select(WorklistItem.sort_rank, func.count())
            .where(*conditions)
            .group_by(col(WorklistItem.sort_rank))
        ):
            counts[LEVEL_OF_RANK.get(rank, "yellow")] += count
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
        shown = [Shown(item, patient) for item, patient in rows[:limit]]
        seen: dict[str, list[str]] = {}
        for item, _ in shown:
            seen.setdefault(item.patient_id, []).append(item.id)
        for patient_id, item_ids in seen.items():
            audit(session, actor, "worklist.read", patient_id, items=item_ids)
    last = shown[-1].item if shown else None
    after = _encode((last.sort_rank, last.due, last.id)) if more and last else None
    return Page(shown, counts, after)


def _visible(actor: Actor, pathway: str | None, status: str) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [col(WorklistItem.status) == status]
    if pathway is not None:
        require_pathway(actor, pathway)
        conditions.append(col(WorklistItem.pathway_id) == pathway)
    elif "*" not in actor.pathways:
        conditions.append(col(WorklistItem.pathway_id).in_(sorted(actor.pathways)))
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
    raw = json.dumps([rank, due.isoformat() if due is not None else None, item_id]).encode()
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
        raise Invalid("the cursor is not one this service gave out") from None
    return rank, when, item_id


def acknowledge(item_id: str, actor: Actor, note: str | None = None) -> Shown:
    """Acknowledge an open item: who and when are recorded."""
    with session_scope() as session:
        item = _item_to_change(session, actor, item_id)
        if item.status != "open":
            raise Conflict(f"the item is {item.status}, not open")
        now = utcnow()
        item.status, item.acknowledged_by, item.acknowledged_at = "acknowledged", actor.subject, now
        return _save(session, actor, item, "acknowledged", now, note)


def resolve(
    item_id: str, actor: Actor, note: str | None = None, contact: str | None = None
) -> Shown:
    """Resolve an item; the next data for this patient and pathway opens a new one. The
    contact that actually happened (none, digital, phone, video, physical) is recorded
    on the item and in its history when given; without it, none is recorded."""
    if contact is not None and contact not in CONTACTS:
        raise Unprocessable(f"unknown contact {contact!r}: one of {', '.join(CONTACTS)}")
    with session_scope() as session:
        item = _item_to_change(session, actor, item_id)
        if item.status == "resolved":
            raise Conflict("the item is already resolved")
        now = utcnow()
        item.status, item.resolved_by, item.resolved_at = "resolved", actor.subject, now
        item.open_key = None
        detail = {} if contact is None else {"contact": contact}
        item.contact = contact
        return _save(session, actor, item, "resolved", now, note, **detail)


def override(item_id: str, actor: Actor, level: str, reason: str) -> Shown:
    """Set the clinician's level beside the engine's; the item sorts by it."""
    with session_scope() as session:
        item = _item_to_change(session, actor, item_id)
        if item.status == "resolved":
            raise Conflict("a resolved item cannot be overridden")
        now = utcnow()
        item.override_level, item.override_reason = level, reason
        item.override_by, item.override_at = actor.subject, now
        item.sort_rank = sort_rank(Level.parse(item.level), Level.parse(level))
        detail = {"engine_level": item.level, "reason": reason}
        return _save(session, actor, item, "override", now, None, level=level, **detail)


def clear_override(item_id: str, actor: Actor) -> Shown:
    """Take a clinician's level back: the item is shown and sorted by the engine's level
    again. The history keeps the override that was cleared, and who cleared it."""
    with session_scope() as session:
        item = _item_to_change(session, actor, item_id)
        if item.status == "resolved":
            raise Conflict("a resolved item cannot be changed")
        if item.override_level is None:
            raise Conflict("the item has no override to clear")
        detail = {"cleared": item.override_level, "reason": item.override_reason}
        detail["set_by"] = item.override_by
        item.override_level = item.override_reason = item.override_by = None
        item.override_at = None
        item.sort_rank = sort_rank(Level.parse(item.level))
        return _save(session, actor, item, "override-cleared", utcnow(), None, **detail)


def _item_to_change(session: Session, actor: Actor, item_id: str) -> WorklistItem:
    query = select(WorklistItem).where(col(WorklistItem.id) == item_id).with_for_update()
    item = session.exec(query).first()
    if item is None:
        raise NotFound("no such worklist item")
    require_pathway(actor, item.pathway_id)
    return item


def _save(
    session: Session,
    actor: Actor,
    item: WorklistItem,
    change: str,
    now: dt.datetime,
    note: str | None,
    level: str | None = None,
    **detail: Any,
) -> Shown:
    if note:
        item.note = note
        detail["note"] = note
    item.updated = now
    session.add(item)
    session.add(
        WorklistEvent(
            item_id=item.id,
            at=now,
            actor=actor.subject,
            change=change,
            level=level or item.override_level or item.level,
            detail=detail,
        )
    )
    audit(session, actor, f"worklist.{change}", item.patient_id, target=item.id)
    session.flush()
    patient = session.get(Patient, item.patient_id)
    assert patient is not None  # a foreign key guarantees it
    return Shown(item, patient)


def unrouted(actor: Actor, limit: int = 100) -> Unrouted:
    """Accepted data no pathway read, and uploads triage failed on: for a person to look
    at. The read is audited for each patient shown."""
    with session_scope() as session:
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
            audit(session, actor, "unrouted.read", patient_id)
    return Unrouted(list(resources), list(failed))
