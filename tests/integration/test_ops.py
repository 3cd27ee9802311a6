"""Liveness and readiness on both the embedded default and PostgreSQL + Redis: ready only
with the database, the broker and a live worker (its heartbeat row)."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import select

from api.app import create_app
from api.auth import create_token
from runtime.settings import get_settings
from store.db import session_scope
from store.models import WorkerHeartbeat
from tests.conftest import Service, _activate, _restore


def test_health_answers_while_the_process_lives(service: Service) -> None:
    with TestClient(create_app()) as client:
        assert client.get("/health").json() == {"status": "ok"}


def _ready(client: TestClient, status: int, seconds: float = 60) -> dict[str, str]:
    """Poll ``/ready`` until it answers ``status``; its checks."""
    deadline = time.monotonic() + seconds
    while True:
        response = client.get("/ready")
        if response.status_code == status or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert response.status_code == status, response.text
    checks: dict[str, str] = response.json()["checks"]
    return checks


def _heartbeats() -> list[WorkerHeartbeat]:
    with session_scope() as session:
        return list(session.exec(select(WorkerHeartbeat)))


def test_ready_only_while_a_worker_beats(service: Service, tmp_path: Path) -> None:
    window = 3 * get_settings().worker_heartbeat_seconds
    stale = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    with session_scope() as session:  # a worker that died two days ago without a word
        session.add(WorkerHeartbeat(name="gone@host:1", started_at=stale, seen_at=stale))
    with TestClient(create_app()) as client:
        checks = _ready(client, 503)
        assert checks == {
            "database": "ok",
            "broker": "ok",
            "worker": f"no worker heartbeat in the last {window} s",
        }

        service.start_worker(tmp_path)
        checks = _ready(client, 200)
        assert checks["database"] == checks["broker"] == "ok"
        assert re.fullmatch(r"ok: 1 alive, newest \d+ s ago", checks["worker"]), checks
        (row,) = _heartbeats()  # its own row; the one not seen for a day is gone
        assert row.name.startswith("w") and row.name.endswith(f":{service.workers[0].pid}")

        service.stop_workers()
        checks = _ready(client, 503)
        assert checks["worker"] == f"no worker heartbeat in the last {window} s"
    assert _heartbeats() == []  # a worker that stops deletes its row


@contextmanager
def database_away(tmp_path: Path) -> Iterator[None]:
    """The service configured with a PostgreSQL where nothing listens (port 1): a real
    driver failing, not a mock."""
    previous = _activate(
        {
            "ENVIRONMENT": "development",
            "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nothing",
            "REDIS_URL": "",
            "BROKER_DIR": str(tmp_path / "broker"),
        }
    )
    try:
        yield
    finally:
        _restore(previous)


def test_ready_says_which_check_failed_when_the_database_is_away(tmp_path: Path) -> None:
    with database_away(tmp_path), TestClient(create_app()) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == "unavailable: OperationalError"
    assert checks["broker"] == "ok" and checks["worker"] == "unknown: no database"


def test_a_database_that_does_not_answer_gives_503_and_stores_nothing(tmp_path: Path) -> None:
    # A real driver failing against a port where nothing listens: the caller is told to
    # send it again (503 + Retry-After), never a 500 and never a silent loss.
    with database_away(tmp_path):
        token = create_token(get_settings(), role="clinician", pathways=["*"])
        headers = {"Authorization": f"Bearer {token}"}
        with TestClient(create_app()) as client:
            listing = client.get("/api/worklist", headers=headers)
            posted = client.post(
                "/fhir/Patient",
                headers=headers,
                json={"resourceType": "Patient", "name": [{"family": "Test"}]},
            )
    assert listing.status_code == 503 and listing.headers["retry-after"] == "1"
    assert posted.status_code == 503 and posted.headers["retry-after"] == "1"
    issue = posted.json()["issue"][0]
    assert posted.json()["resourceType"] == "OperationOutcome"
    assert issue["code"] == "transient" and "send it again" in issue["diagnostics"]
