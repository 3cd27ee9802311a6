"""Handing outbox rows to the broker, only after the transaction that wrote them committed.

:func:`dispatch` publishes at once and marks the rows as handed over. The API uses
:func:`dispatch_soon`, which publishes from a background thread, so a POST answers as soon
as its data is committed, and marks what it handed over in one UPDATE every
:data:`MARK_EVERY` seconds. Whatever is not handed over (the broker is down, the process
stopped first) keeps ``dispatched_at`` empty, and the periodic re-send hands it over later.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import queue
import threading
import time
from collections.abc import Iterable

from sqlalchemy import update

from messaging.celery_app import REPLAY_PATHWAY, TRIAGE_OUTBOX, TRIAGE_OUTBOXES, client
from runtime.logs import request_context
from store.db import session_scope
from store.models import Outbox

log = logging.getLogger(__name__)
BATCH = 200  # outbox rows in one message at most
# The rows handed over are marked so (``dispatched_at``) in one UPDATE per this many seconds
# instead of one per request: the mark was a second transaction for every POST. A row
# handed over but not yet marked when the process stops is sent again by the periodic
# re-send (after OUTBOX_RESEND_SECONDS); a second message for a row changes nothing.
MARK_EVERY = 0.05
# Under load, at most one message per this many seconds: what requests commit meanwhile
# waits for it and goes out together (one Celery message instead of one per upload: the
# publishing was a tenth of the API's CPU, and each message costs the worker as much again).
# A request that finds the thread idle for longer is sent at once, so a quiet service adds
# no delay; a busy one adds at most this.
LINGER = 0.02

__all__ = ["dispatch", "dispatch_soon", "send_replay"]


def _publish(outbox_ids: Iterable[int], request_id: str | None) -> list[int]:
    sent: list[int] = []
    app = client()
    for outbox_id in outbox_ids:
        try:
            app.send_task(
                TRIAGE_OUTBOX, args=[outbox_id], headers={"request_id": request_id}, retry=False
            )
        except Exception:  # the broker is unreachable: the outbox keeps the work
            log.warning("broker unavailable; outbox row %s left for re-send", outbox_id)
            break
        sent.append(outbox_id)
    return sent


def send_replay(job_id: str, request_id: str | None) -> bool:
    """Hand a replay job to the worker; False when the broker is unreachable."""
    try:
        client().send_task(
            REPLAY_PATHWAY, args=[job_id], headers={"request_id": request_id}, retry=False
        )
    except Exception:  # the job row stays queued; sending it again runs it
        log.warning("broker unavailable; replay job %s not sent", job_id)
        return False
    return True


def _publish_batch(outbox_ids: list[int]) -> list[int]:
    try:
        client().send_task(TRIAGE_OUTBOXES, args=[outbox_ids], retry=False)
    except Exception:  # the broker is unreachable: the outbox keeps the work
        log.warning("broker unavailable; %d outbox rows left for re-send", len(outbox_ids))
        return []
    return outbox_ids


def _mark(sent: list[int]) -> None:
    if not sent:
        return
    try:
        with session_scope() as session:
            session.execute(
                update(Outbox)
                .where(Outbox.id.in_(sent))  # type: ignore[union-attr]
                .values(dispatched_at=dt.datetime.now(dt.UTC))
            )
    except Exception:
        log.warning("could not mark %d outbox rows as dispatched", len(sent))


def dispatch(outbox_ids: Iterable[int], request_id: str | None = None) -> int:
    """Send one triage task per outbox row now; return how many were handed over.

    Never raises: a row that could not be sent stays for the periodic re-send.
    """
    sent = _publish(outbox_ids, request_id)
    _mark(sent)
    return len(sent)


class _Background:
    """One daemon thread per process that publishes what requests committed."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[list[int], str | None]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pid = 0
        self._thread: threading.Thread | None = None

    def submit(self, outbox_ids: list[int], request_id: str | None) -> None:
        with self._lock:
            if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
                # A fresh queue and thread after a fork: neither survives into the child.
                self._queue = queue.SimpleQueue()
                self._thread = threading.Thread(target=self._run, name="dispatch", daemon=True)
                self._pid = os.getpid()
                self._thread.start()
        self._queue.put((outbox_ids, request_id))

    def _run(self) -> None:
        unmarked: list[int] = []  # handed over, not yet marked so in the database
        since = 0.0
        last = 0.0  # when the last message went out
        while True:
            wait = None if not unmarked else since + MARK_EVERY - time.monotonic()
            try:
                batch = [
                    self._queue.get(timeout=wait)
                    if wait is None or wait > 0
                    else self._queue.get_nowait()
                ]
            except queue.Empty:
                batch = []
            while batch and len(batch) < BATCH:
                hold = last + LINGER - time.monotonic()  # > 0 only under load
                try:
                    batch.append(
                        self._queue.get(timeout=hold) if hold > 0 else self._queue.get_nowait()
                    )
                except queue.Empty:
                    break
            if batch:
                last = time.monotonic()
            sent = self._send(batch)
            if sent and not unmarked:
                since = time.monotonic()
            unmarked += sent
            due = not batch or len(unmarked) >= BATCH or time.monotonic() - since >= MARK_EVERY
            if unmarked and due:
                _mark(unmarked)
                unmarked = []

    @staticmethod
    def _send(batch: list[tuple[list[int], str | None]]) -> list[int]:
        if len(batch) == 1:
            outbox_ids, request_id = batch[0]
            with request_context(request_id):  # this thread's lines name the request
                return _publish(outbox_ids, request_id)
        if not batch:
            return []
        # Under load, what several requests committed goes out as one message.
        return _publish_batch([outbox_id for outbox_ids, _ in batch for outbox_id in outbox_ids])


_background = _Background()


def dispatch_soon(outbox_ids: list[int], request_id: str | None = None) -> None:
    """Queue outbox rows for publishing by this process's dispatch thread; returns at once."""
    if outbox_ids:
        _background.submit(list(outbox_ids), request_id)
