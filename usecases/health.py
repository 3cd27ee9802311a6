"""The worker's heartbeat: each worker's main process writes its ``WorkerHeartbeat`` row every
``WORKER_HEARTBEAT_SECONDS`` from a daemon thread, and deletes it when it stops. ``/ready``
and the metrics read them. (Celery's own event heartbeat is another thing; tests turn it off.)
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, update
from sqlmodel import Session, col, select

from store.db import session_scope
from store.models import WorkerHeartbeat

log = logging.getLogger(__name__)
FORGET_AFTER = dt.timedelta(days=1)  # a row not seen for this long is a worker long gone


def window(interval_seconds: int) -> dt.timedelta:
    """How recent a heartbeat must be for its worker to count as alive: three intervals
    (``WORKER_HEARTBEAT_SECONDS``)."""
    return dt.timedelta(seconds=3 * interval_seconds)


def alive(
    session: Session, within: dt.timedelta, now: dt.datetime | None = None
) -> tuple[int, dt.datetime | None]:
    """Workers seen ``within`` the last while, and the newest heartbeat of all."""
    now = now or dt.datetime.now(dt.UTC)
    newest = session.exec(select(func.max(WorkerHeartbeat.seen_at))).one()
    count = session.exec(
        select(func.count())
        .select_from(WorkerHeartbeat)
        .where(col(WorkerHeartbeat.seen_at) >= now - within)
    ).one()
    if isinstance(newest, dt.datetime) and newest.tzinfo is None:
        newest = newest.replace(tzinfo=dt.UTC)  # SQLite's max() bypasses the column's type
    return int(count), newest


class Heartbeat:
    """One per worker main process: started on ``worker_ready``, stopped on shutdown."""

    def __init__(self) -> None:
        self.name = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._interval = 10

    def start(self, name: str, interval_seconds: int) -> None:
        """Write a heartbeat now and then every ``interval_seconds`` until stopped."""
        self.name = name
        self._interval = interval_seconds
        self._stop.clear()
        now = dt.datetime.now(dt.UTC)
        try:
            with session_scope() as session:
                session.execute(
                    delete(WorkerHeartbeat).where(col(WorkerHeartbeat.seen_at) < now - FORGET_AFTER)
                )
        except Exception as exc:  # the thread below keeps trying; the worker works on
            log.warning("heartbeat: could not forget old rows (%s)", type(exc).__name__)
        self.beat(started=now)
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._thread.start()

    def beat(self, started: dt.datetime | None = None) -> None:
        """Write this worker's row: an UPDATE, or an INSERT the first time."""
        now = dt.datetime.now(dt.UTC)
        try:
            with session_scope() as session:
                result = session.execute(
                    update(WorkerHeartbeat)
                    .where(col(WorkerHeartbeat.name) == self.name)
                    .values(seen_at=now)
                )
                changed = cast(CursorResult[Any], result).rowcount
                if not changed:
                    session.add(
                        WorkerHeartbeat(name=self.name, started_at=started or now, seen_at=now)
                    )
        except Exception as exc:  # the database is away for a moment: /ready will say so
            log.warning("heartbeat not written (%s)", type(exc).__name__)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.beat()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if not self.name:
            return
        try:
            with session_scope() as session:
                session.execute(
                    delete(WorkerHeartbeat).where(col(WorkerHeartbeat.name) == self.name)
                )
        except Exception as exc:
            log.warning("heartbeat row not deleted (%s)", type(exc).__name__)


heartbeat = Heartbeat()
