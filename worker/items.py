"""Worklist rows: the one open item per patient and pathway, changed as triage/worklist.py says.

Every change is written with a ``WorklistEvent`` (the history), in the caller's
transaction. A second open item is impossible: ``open_key`` is UNIQUE, so two jobs that
both found no open item collide at the insert and the loser retries (see worker/jobs.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session, select

from store.models import WorklistEvent, WorklistItem, new_id
from triage import Level
from triage.worklist import Change, OpenItem, Status, on_problem, on_result, sort_rank

ACTOR = "triage"  # the actor recorded for changes the worker makes


def open_key(patient_id: str, pathway_id: str) -> str:
    return f"{patient_id}|{pathway_id}"


def open_item(session: Session, patient_id: str, pathway_id: str) -> WorklistItem | None:
    """The open (or acknowledged) item, locked for this transaction where the database can."""
    query = select(WorklistItem).where(WorklistItem.open_key == open_key(patient_id, pathway_id))
    return session.exec(query.with_for_update()).first()


def _view(item: WorklistItem | None) -> OpenItem | None:
    if item is None:
        return None
    override = Level.parse(item.override_level) if item.override_level else None
    status: Status = "acknowledged" if item.status == "acknowledged" else "open"
    return OpenItem(Level.parse(item.level), status, override)


def _new(patient_id: str, pathway_id: str, kind: str, now: dt.datetime) -> WorklistItem:
    return WorklistItem(
        id=new_id("w"),
        open_key=open_key(patient_id, pathway_id),
        patient_id=patient_id,
        pathway_id=pathway_id,
        kind=kind,
        level="yellow",
        sort_rank=1,
        reasons=[],
        sources=[],
        created=now,
        updated=now,
    )


def _apply(
    session: Session,
    item: WorklistItem,
    change: Change,
    before: str | None,
    now: dt.datetime,
    result_id: str | None,
    detail: dict[str, Any],
) -> WorklistItem:
    if not change.keep_override and item.override_level is not None:
        detail = {**detail, "override_dropped": item.override_level}
        item.override_level = item.override_reason = item.override_by = None
        item.override_at = None
    item.level = change.level.label
    item.status = change.status
    override = Level.parse(item.override_level) if item.override_level else None
    item.sort_rank = sort_rank(change.level, override)
    item.updated = now
    session.add(item)
    session.flush()  # the UNIQUE open_key is checked here, before the event names the item
    session.add(
        WorklistEvent(
            item_id=item.id,
            at=now,
            actor=ACTOR,
            change=change.change,
            level=change.level.label,
            result_id=result_id,
            detail={"from": before, "status": change.status, **detail},
        )
    )
    return item


def apply_result(
    session: Session,
    *,
    patient_id: str,
    pathway_id: str,
    level: Level,
    reasons: list[dict[str, Any]],
    action: dict[str, Any] | None,
    due: dt.datetime | None,
    sources: list[dict[str, str]],
    ruleset: dict[str, Any],
    result_id: str,
    data_time: dt.datetime | None,
    now: dt.datetime,
) -> WorklistItem:
    """Create or update the open item with a new triage result."""
    item = open_item(session, patient_id, pathway_id)
    change = on_result(_view(item), level)
    before = item.level if item is not None else None
    if item is None:
        item = _new(patient_id, pathway_id, "triage", now)
    item.kind = "triage"
    item.reasons = reasons
    item.action = action
    item.due = due
    item.sources = sources
    item.ruleset = ruleset
    item.result_id = result_id
    item.data_time = data_time
    return _apply(session, item, change, before, now, result_id, {"kind": "triage"})


def has_reason(item: WorklistItem, key: str) -> bool:
    return any(reason.get("key") == key for reason in item.reasons)


def apply_problem(
    session: Session,
    *,
    patient_id: str,
    pathway_id: str,
    kind: str,
    reason: dict[str, Any],
    due: dt.datetime | None,
    now: dt.datetime,
    sources: list[dict[str, str]] | None = None,
    ruleset: dict[str, Any] | None = None,
) -> WorklistItem | None:
    """Put a problem (``kind`` failed or overdue) on the open item, or on a new one.

    ``reason["key"]`` identifies the problem: the same problem twice changes nothing.
    """
    item = open_item(session, patient_id, pathway_id)
    if item is not None and has_reason(item, reason["key"]):
        return None
    change = on_problem(_view(item))
    before = item.level if item is not None else None
    if item is None:
        item = _new(patient_id, pathway_id, kind, now)
        item.due = due
        item.sources = sources or []
        item.ruleset = ruleset
        item.reasons = [reason]
    else:
        item.reasons = [reason, *item.reasons]
        if item.due is None or (due is not None and due < item.due):
            item.due = due
    return _apply(session, item, change, before, now, None, {"kind": kind, "key": reason["key"]})
