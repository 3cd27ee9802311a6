"""Fixtures shared by the integration tests of a theme split over several modules: a web
client not signed in (test_web_pages_*.py, test_web_charts.py), clients of apps built with
given settings (test_security_*.py), and the API client and the rows the authorization tests
are about (test_authorization_*.py)."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from runtime import caches
from store.db import session_scope
from store.models import Outbox, Resource, new_id
from tests.conftest import Service
from tests.integration.api_rows import add_item, add_patient, add_result, unique
from tests.integration.authz_calls import World
from tests.integration.security_helpers import Make


@pytest.fixture
def anonymous(service: Service) -> Iterator[TestClient]:
    with TestClient(create_app(), follow_redirects=False) as client:
        yield client


@pytest.fixture
def make(service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[Make]:
    """``make(RATE_LIMIT_...="5")``: a client of an app built with those settings."""
    clients: list[TestClient] = []

    def build(**env: str) -> TestClient:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        caches.reset()
        # An address of its own: failed sign-ins counted in Redis outlive one test.
        address = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        client = TestClient(create_app(), follow_redirects=False, client=(address, 50000))
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)
    monkeypatch.undo()
    caches.reset()


@pytest.fixture(scope="module")
def world(service: Service) -> World:
    pathway = unique("auth")
    patient, other = add_patient(), add_patient()
    item = add_item(patient, pathway, "red")
    add_result(patient, pathway, "red")
    submission = new_id("qr")
    with session_scope() as session:
        outbox = Outbox(patient_id=patient, resource_ids=[submission])
        session.add(outbox)
        session.flush()
        body = {"resourceType": "QuestionnaireResponse", "id": submission}
        session.add(
            Resource(
                id=submission,
                resource_type="QuestionnaireResponse",
                patient_id=patient,
                body=body,
                outbox_id=outbox.id,
            )
        )
    return World(pathway, patient, other, item, submission)


@pytest.fixture
def client(service: Service) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client
