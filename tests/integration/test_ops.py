"""Liveness and readiness on both the embedded default and PostgreSQL + Redis."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from tests.conftest import Service


def test_health_answers_while_the_process_lives(service: Service) -> None:
    with TestClient(create_app()) as client:
        assert client.get("/health").json() == {"status": "ok"}


def test_ready_when_database_and_broker_answer(service: Service) -> None:
    with TestClient(create_app()) as client:
        response = client.get("/ready")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}
