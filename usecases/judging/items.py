"""Worklist rows: the one open item per patient and pathway, changed as triage/worklist.py says.

Every change is written with a ``WorklistEvent`` (the history), in the caller's
transaction. A second open item is impossible: ``open_key`` is UNIQUE, so two jobs that
both found no open item collide at the insert and the loser retries (see usecases/judging/job.py).
An item's level is held: results and problems only raise it; the newest result is shown
beside it (``newest``); only the overdue flag leaves by itself, when the form arrives.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from store.models import WorklistEvent, WorklistItem, new_id
from triage import Level
from triage.worklist import (
    Change,
    OpenItem,
    Status,
    is_newer,
    merge_reasons,
    on_problem,
    on_result,
    opens_item,
    sort_rank,
    without_overdue,
)

ACTOR = "triage"  # the actor recorded for changes the worker makes
MAX_SOURCES = 50


@dataclass(frozen=True)
class Judged:
    """One stored result, as the worklist takes it."""

    result_id: str
    level: Level
    reasons: list[dict[str, Any]]  # each with the time of its data ("at")
    action: dict[str, Any] | None
    due: dt.datetime | None
    sources: list[dict[str, str]]
    ruleset: dict[str, Any]
    data_time: dt.datetime  # when the data was (never later than it arrived)
    made: dt.datetime
    undecided: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """What the item shows as its ``newest``."""
        return {
            "level": self.level.label,
            "at": self.data_time.astimezone(dt.UTC).isoformat(),
            "result": self.result_id,
            "reasons": self.reasons,
            "undecided": self.undecided,
            "made": self.made.astimezone(dt.UTC).isoformat(),
        }


def open_key(patient_id: str, pathway_id: str) -> str:
    return f"{patient_id}|{pathway_id}"


def open_item(session: Session, patient_id: str, pathway_id: str) -> WorklistItem | None:
    """The open (or acknowledged) item, locked for this transaction where the database can."""
    return session.scalars(_OPEN, {"key": open_key(patient_id, pathway_id)}).first()


_OPEN = (  # built once, run with the key as a parameter
    select(WorklistItem).where(col(WorklistItem.open_key) == bindparam("key")).with_for_update()
)


def _view(item: WorklistItem | None) -> OpenItem | None:
    if item is None:
        return None
    override = Level.parse(item.override_level) if item.override_level else None
    status: Status = "acknowledged" if item.status == "acknowledged" else "open"
    held = Level.parse(item.result_level) if item.result_level else None
    return OpenItem(Level.parse(item.level), status, override, held)


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
    item.result_level = change.result_level.label if change.result_level is not None else None
    item.status = change.status
    override = Level.parse(item.override_level) if item.override_level else None
    item.sort_rank = sort_rank(change.level, override)
    item.updated = now
    session.add(item)
    session.flush()  # the UNIQUE open_key is checked here, before the event names the item
    _event(
        session,
        item,
        now,
        change.change,
        change.level.label,
        result_id,
        {"from": before, "status": change.status, **detail},
    )
    return item


_EVENT = WorklistEvent.__table__.insert()  # type: ignore[attr-defined]  # built once


def _event(
    session: Session,
    item: WorklistItem,
    now: dt.datetime,
    change: str,
    level: str,
    result_id: str | None,
    detail: dict[str, Any],
) -> None:
    """The item's history row, inserted at once: no ORM object to track for a row the job
    never reads again."""
    row = {
        "item_id": item.id,
        "at": now,
        "actor": ACTOR,
        "change": change,
        "level": level,
        "result_id": result_id,
        "detail": detail,
    }
    session.execute(_EVENT, row)


def apply_results(
    session: Session,
    *,
    patient_id: str,
    pathway_id: str,
    judged: list[Judged],
    now: dt.datetime,
    notes: list[dict[str, Any]] | None = None,
    clears_overdue: bool = False,
    may_open: bool = True,
    kind: str = "triage",
) -> WorklistItem | None:
    """Put results (and notes) on the open item, or on a new one.

    ``clears_overdue``: a response to the pathway's form is among them, so the overdue
    flag leaves. ``may_open`` False (a re-judgement): a new item only above green."""
    notes = notes or []
    item = open_item(session, patient_id, pathway_id)
    if not judged:
        return _note(session, item, notes, now) if item is not None and notes else None
    worst = max(judged, key=lambda j: (j.level, j.data_time))
    if item is None and not may_open and not opens_item(worst.level):
        return None
    change = on_result(_view(item), worst.level, new_data=kind == "triage")
    # A note (data withdrawn or corrected) says what that data was judged; it never lifts
    # an item above what its results hold (after a resolve, the item is new).
    notes = [{**n, "level": min(Level.parse(n["level"]), change.level).label} for n in notes]
    before = item.level if item is not None else None
    held = Level.parse(before) if before is not None else None
    if item is None:
        item = _new(patient_id, pathway_id, "triage", now)
    reasons = merge_reasons(item.reasons, [r for j in judged for r in j.reasons] + notes)
    if clears_overdue and any(r.get("kind") == "overdue" for r in item.reasons):
        reasons, level = without_overdue(reasons, change.result_level)
        if level < change.level:
            change = Change(level, change.status, change.keep_override, "overdue-cleared", level)
    if item.kind == "overdue" and clears_overdue:
        item.kind = "triage"
    item.reasons = reasons
    _take_action(item, judged, worst.level, held)
    item.sources = _sources(item.sources if held is not None else [], judged, worst)
    item.ruleset = judged[-1].ruleset
    if held is None or worst.level > held or item.result_id is None:
        item.result_id = worst.result_id
    newest = max(judged, key=lambda j: (j.data_time, j.made)).summary()
    if is_newer(newest, item.newest):
        item.newest = newest
        item.data_time = dt.datetime.fromisoformat(newest["at"])
    detail = {"kind": kind, "results": len(judged), "newest": (item.newest or newest)["level"]}
    return _apply(session, item, change, before, now, worst.result_id, detail)


def _take_action(
    item: WorklistItem, judged: list[Judged], worst: Level, held: Level | None
) -> None:
    """The action and due time of the level the item holds: the most urgent at that level."""
    top = [j for j in judged if j.level == worst]
    soonest = min(top, key=lambda j: j.due or dt.datetime.max.replace(tzinfo=dt.UTC))
    sooner = soonest.due is not None and (item.due is None or soonest.due < item.due)
    if held is None or worst > held or (worst == held and sooner):
        item.action, item.due = soonest.action, soonest.due


def _sources(
    held: list[dict[str, str]], judged: list[Judged], worst: Judged
) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for source in [*worst.sources, *held, *(s for j in judged for s in j.sources)]:
        if source not in out:
            out.append(source)
    return out[:MAX_SOURCES]


def _note(
    session: Session, item: WorklistItem, notes: list[dict[str, Any]], now: dt.datetime
) -> WorklistItem:
    """Notes (data withdrawn or corrected) on an open item: its level stays."""
    held = Level.parse(item.level)
    notes = [{**n, "level": min(Level.parse(n["level"]), held).label} for n in notes]
    item.reasons = merge_reasons(item.reasons, notes)
    item.updated = now
    session.add(item)
    _event(session, item, now, "noted", item.level, None, {"notes": [n.get("kind") for n in notes]})
    return item


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
    """Put a problem (``kind`` failed, overdue or unread-form) on the open item, or on a new
    one. ``reason["key"]`` identifies the problem: the same problem twice changes nothing.
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
        item.reasons = merge_reasons(item.reasons, [reason])
        if item.due is None or (due is not None and due < item.due):
            item.due = due
        for source in sources or []:
            if source not in item.sources and len(item.sources) < MAX_SOURCES:
                item.sources = [*item.sources, source]
    return _apply(session, item, change, before, now, None, {"kind": kind, "key": reason["key"]})
