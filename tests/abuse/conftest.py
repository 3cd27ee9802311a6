"""Abuse tests run on PostgreSQL + Redis with per-token rate limits switched off, so that
hundreds of generated calls are judged on what they send, not throttled. A test module may
set more with ``EXTRA_ENV``."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from runtime import caches
from tests.abuse.world import World, seed
from tests.conftest import Service

NO_RATE_LIMITS = {
    "RATE_LIMIT_PATIENT_PER_MINUTE": "0",
    "RATE_LIMIT_STAFF_PER_MINUTE": "0",
    "RATE_LIMIT_LOGIN_PER_MINUTE": "0",
}


@pytest.fixture(scope="module", autouse=True)
def _abuse_env(request: pytest.FixtureRequest) -> Iterator[None]:
    # autouse and module scope: set before pg_service builds the settings.

    env = {**NO_RATE_LIMITS, **getattr(request.module, "EXTRA_ENV", {})}
    previous = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    yield
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    caches.reset()  # no later test sees these settings


@pytest.fixture(scope="module")
def client(pg_service: Service) -> Iterator[TestClient]:
    """The app in-process on PostgreSQL + Redis; a server error is an answer to judge (500),
    and redirects are answers too (the pages send the signed-out to /app/login)."""
    with TestClient(create_app(), raise_server_exceptions=False, follow_redirects=False) as tc:
        yield tc


@pytest.fixture(scope="module")
def world(client: TestClient) -> World:
    return seed(client)
