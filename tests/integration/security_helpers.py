"""What the security tests (test_security_*.py, test_ratelimit_tls.py) share: patient
tokens, reading Retry-After, and the real rate limiter around a minimal app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api import security
from api.auth import create_token
from runtime.settings import Settings, get_settings
from tests.conftest import TEST_SECRET

# The ``make`` fixture (conftest.py): ``make(RATE_LIMIT_...="5")`` is a client of such an app.
Make = Callable[..., TestClient]


def patient_headers(patient: str, hours: int = 12) -> dict[str, str]:
    """A patient token; another ``hours`` gives another token for the same subject."""
    token = create_token(get_settings(), role="patient", patient_id=patient, hours=hours)
    return {"Authorization": f"Bearer {token}"}


def retry_after(response: Any) -> int:
    value = response.headers["retry-after"]
    assert value.isdigit() and int(value) >= 1, value
    return int(value)


def limited_app(redis_url: str, per_minute: int) -> TestClient:
    """The real RateLimit middleware around an endpoint that answers 201."""

    async def accept(_: Request) -> JSONResponse:
        return JSONResponse({"ok": True}, status_code=201)

    settings = Settings(
        environment="test",
        jwt_secret=TEST_SECRET,
        redis_url=redis_url,
        rate_limit_patient_per_minute=per_minute,
    )
    app = Starlette(routes=[Route("/fhir/Observation", accept, methods=["POST"])])
    return TestClient(security.RateLimit(app, settings=settings))


def patient_token(patient: str) -> dict[str, str]:
    settings = Settings(environment="test", jwt_secret=TEST_SECRET)
    token = create_token(settings, role="patient", patient_id=patient)
    return {"Authorization": f"Bearer {token}"}
