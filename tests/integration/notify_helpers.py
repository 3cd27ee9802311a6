"""A webhook receiver for the notification tests: a real HTTP server in a thread that checks
each POST's signature and idempotency key, and answers from a script (e.g. 500 twice, then
200), recording every request. Synthetic data only."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlmodel import col, select

from store.db import session_scope
from store.models import Patient, new_id
from store.notifications import Notification

SECRET = "notify-test-secret-0123456789abcdef"


@dataclass
class Received:
    key: str | None
    event: dict[str, Any]
    signed: bool
    status: int


@dataclass
class Receiver:
    """What the server got, and the statuses it answers with (then 200 when used up)."""

    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def accepted(self) -> list[Received]:
        return [r for r in self.received if r.status == 200]


@contextmanager
def receiver(script: list[int]) -> Iterator[Receiver]:
    state = Receiver(script=list(script))
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            signed = hmac.compare_digest(self.headers.get("X-Signature", ""), expected)
            key = self.headers.get("Idempotency-Key")
            with lock:
                status = 401 if not signed or not key else (state.script or [200]).pop(0)
                state.received.append(Received(key, json.loads(body), signed, status))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/events"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def new_patient_row() -> str:
    """A patient row (the outbox's foreign key), without any identity."""
    pid = new_id("p")
    with session_scope() as session:
        session.add(Patient(id=pid, resource={"resourceType": "Patient", "id": pid}))
    return pid


def rows(patient_id: str) -> list[Notification]:
    with session_scope() as session:
        query = select(Notification).where(col(Notification.patient_id) == patient_id)
        return list(session.exec(query.order_by(col(Notification.idempotency_key))).all())


def next_time(patient_id: str) -> dt.datetime | None:
    """When the patient's earliest pending event is tried next (None: nothing pending)."""
    times = [r.next_attempt_at for r in rows(patient_id) if r.status == "pending"]
    return min((t for t in times if t is not None), default=None)
