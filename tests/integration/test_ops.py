"""Liveness and readiness on both the embedded default and PostgreSQL + Redis."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import create_token
from store.settings import get_settings
from tests.conftest import Service, _activate, _restore


def test_health_answers_while_the_process_lives(service: Service) -> None:
    with TestClient(create_app()) as client:
        assert client.get("/health").json() == {"status": "ok"}


def test_ready_when_database_and_broker_answer(service: Service) -> None:
    with TestClient(create_app()) as client:
        response = client.get("/ready")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_a_database_that_does_not_answer_gives_503_and_stores_nothing(tmp_path: Path) -> None:
    # A real driver failing against a port where nothing listens: the caller is told to
    # send it again (503 + Retry-After), never a 500 and never a silent loss.
    previous = _activate(
        {
            "ENVIRONMENT": "development",
            "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nothing",
            "REDIS_URL": "",
            "BROKER_DIR": str(tmp_path / "broker"),
        }
    )
    try:
        token = create_token(get_settings(), role="clinician", pathways=["*"])
        headers = {"Authorization": f"Bearer {token}"}
        with TestClient(create_app()) as client:
            listing = client.get("/api/worklist", headers=headers)
            posted = client.post(
                "/fhir/Patient",
                headers=headers,
                json={"resourceType": "Patient", "name": [{"family": "Test"}]},
            )
    finally:
        _restore(previous)
    assert listing.status_code == 503 and listing.headers["retry-after"] == "1"
    assert posted.status_code == 503 and posted.headers["retry-after"] == "1"
    issue = posted.json()["issue"][0]
    assert posted.json()["resourceType"] == "OperationOutcome"
    assert issue["code"] == "transient" and "send it again" in issue["diagnostics"]
