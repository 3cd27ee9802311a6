"""What operations asks of the service: is it ready (the database, the broker and a worker
answer), and the figures ``/metrics`` reads from the database (outbox depth, open worklist
items, worker heartbeats). Neither ever raises for a database that is away: they say so.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from sqlalchemy import func, text
from sqlmodel import col, select

from messaging.celery_app import broker_status
from runtime.settings import Settings
from store.db import get_engine, session_scope
from store.models import Outbox, WorklistItem
from usecases.health import alive, window

__all__ = ["KINDS", "LEVELS", "Readiness", "Snapshot", "readiness", "snapshot"]

LEVELS = ("red", "yellow", "green")  # a worklist item's sort_rank, 0 first
KINDS = ("triage", "overdue", "failed")


@dataclass(frozen=True)
class Readiness:
    """What each check found (``ok``, ``ok: ...`` or why not); ready when all are ok."""

    checks: dict[str, str]

    @property
    def ok(self) -> bool:
        return all(value == "ok" or value.startswith("ok:") for value in self.checks.values())


def readiness(settings: Settings) -> Readiness:
    """The database answers, the broker answers, and a worker's heartbeat is newer than
    three heartbeat intervals (asked only when the database answers)."""
    checks: dict[str, str] = {}
    checks["database"] = _database_status()
    checks["broker"] = broker_status(settings)
    checks["worker"] = (
        _worker_status(settings) if checks["database"] == "ok" else "unknown: no database"
    )
    return Readiness(checks)


def _database_status() -> str:
    try:
        with get_engine().connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # report, never crash a probe
        return f"unavailable: {type(exc).__name__}"
    return "ok"


def _worker_status(settings: Settings) -> str:
    within = window(settings.worker_heartbeat_seconds)
    now = dt.datetime.now(dt.UTC)
    try:
        with session_scope() as session:
            count, newest = alive(session, within, now)
    except Exception as exc:
        return f"unavailable: {type(exc).__name__}"
    if not count or newest is None:
        return f"no worker heartbeat in the last {int(within.total_seconds())} s"
    return f"ok: {count} alive, newest {max(0, round((now - newest).total_seconds()))} s ago"


@dataclass
class Snapshot:
    """The database's figures at one moment; ``up`` False when they could not be read."""

    up: bool = False
    outbox_pending: int = 0
    outbox_failed: int = 0
    items: dict[tuple[str, str], int] = field(default_factory=dict)  # (level, kind): open
    workers_alive: int = 0
    heartbeat_age: float = math.nan  # seconds since the newest heartbeat; NaN: none


def snapshot(heartbeat_seconds: int) -> Snapshot:
    """The figures now, read in one unit of work; a database that is away gives ``up``
    False, never an error. ``heartbeat_seconds``: WORKER_HEARTBEAT_SECONDS."""
    snap = Snapshot()
    now = dt.datetime.now(dt.UTC)
    try:
        with session_scope() as session:
            snap.outbox_pending = session.exec(
                select(func.count()).select_from(Outbox).where(col(Outbox.done_at).is_(None))
            ).one()
            snap.outbox_failed = session.exec(
                select(func.count()).select_from(Outbox).where(col(Outbox.failed).is_(True))
            ).one()
            snap.items = {(level, kind): 0 for level in LEVELS for kind in KINDS}
            rows = session.exec(
                select(WorklistItem.sort_rank, WorklistItem.kind, func.count())
                .where(col(WorklistItem.status) == "open")
                .group_by(col(WorklistItem.sort_rank), col(WorklistItem.kind))
            )
            for rank, kind, count in rows:
                key = (LEVELS[rank] if 0 <= rank < len(LEVELS) else "yellow", kind)
                snap.items[key] = snap.items.get(key, 0) + count
            snap.workers_alive, newest = alive(session, window(heartbeat_seconds), now)
            if newest is not None:
                snap.heartbeat_age = max(0.0, (now - newest).total_seconds())
        snap.up = True
    except Exception:  # a scrape reports the database as down, never fails
        snap.up = False
    return snap
