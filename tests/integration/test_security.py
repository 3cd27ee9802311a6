"""Security basics on both backends: write rate limits per token subject (429 + Retry-After,
nothing stored; in-process on the embedded default, in Redis with PostgreSQL + Redis),
failed web sign-ins limited per address, CORS closed unless configured, security headers.

The limiter's Redis side is also tested alone, around a minimal app: two clients (as two
API processes) share one budget, and a Redis that is down or hangs lets writes through."""

from __future__ import annotations

import logging
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api import security
from api.app import create_app
from api.auth import create_token
from runtime import caches
from runtime.settings import Settings, get_settings
from store.db import session_scope
from store.models import Resource
from tests.conftest import REDIS_TEST_URL, TEST_SECRET, Service
from tests.integration.api_rows import add_item, add_patient, headers, unique
from tests.integration.fhir_helpers import weight

Make = Callable[..., TestClient]


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


def patient_headers(patient: str, hours: int = 12) -> dict[str, str]:
    """A patient token; another ``hours`` gives another token for the same subject."""
    token = create_token(get_settings(), role="patient", patient_id=patient, hours=hours)
    return {"Authorization": f"Bearer {token}"}


def stored(patient: str) -> int:
    with session_scope() as session:
        return len(session.exec(select(Resource).where(Resource.patient_id == patient)).all())


def retry_after(response: Any) -> int:
    value = response.headers["retry-after"]
    assert value.isdigit() and int(value) >= 1, value
    return int(value)


# --- rate limits through the whole app --------------------------------------------------------


def test_a_patient_is_limited_and_a_fresh_token_does_not_reset_it(make: Make) -> None:
    client = make(RATE_LIMIT_PATIENT_PER_MINUTE="5")
    patient, other = add_patient(), add_patient()
    for n in range(5):
        obs = weight(f"Patient/{patient}", n, ident=unique("rl"))
        response = client.post("/fhir/Observation", json=obs, headers=patient_headers(patient))
        assert response.status_code == 201, response.text
    refused = client.post(
        "/fhir/Observation",
        json=weight(f"Patient/{patient}", 9, ident=unique("rl")),
        headers=patient_headers(patient, hours=2),  # a fresh token, the same subject
    )
    assert refused.status_code == 429, refused.text
    assert 1 <= retry_after(refused) <= 12  # 5 a minute: a token every 12 s
    assert refused.headers["content-type"].startswith("application/fhir+json")
    body = refused.json()
    assert body["resourceType"] == "OperationOutcome"
    assert [issue["code"] for issue in body["issue"]] == ["throttled"]
    assert stored(patient) == 5, "the refused resource is not stored"
    # Another patient has a budget of its own; reads are not limited.
    obs = weight(f"Patient/{other}", 1, ident=unique("rl"))
    assert client.post("/fhir/Observation", json=obs, headers=patient_headers(other)).is_success
    read = client.get(f"/api/patients/{patient}/triage", headers=patient_headers(patient))
    assert read.status_code != 429


def test_staff_writes_get_the_json_shape_and_retry_after_is_honest(make: Make) -> None:
    client = make(RATE_LIMIT_STAFF_PER_MINUTE="30")  # a token every 2 s
    auth = headers("clinician", subject=unique("clinician:rl"))
    accepted = 0
    for _ in range(60):
        response = client.post("/api/worklist/w-none/acknowledge", json={}, headers=auth)
        if response.status_code == 429:
            break
        assert response.status_code == 404, response.text
        accepted += 1
    assert accepted >= 30 and response.status_code == 429
    assert response.headers["content-type"].startswith("application/json")
    assert "too many" in response.json()["error"]
    wait = retry_after(response)
    assert wait <= 2
    time.sleep(wait)
    again = client.post("/api/worklist/w-none/acknowledge", json={}, headers=auth)
    assert again.status_code == 404, "after Retry-After seconds the write is taken"
    assert client.get("/api/worklist", headers=auth).status_code == 200


def test_the_pages_writes_count_for_the_signed_in_subject(make: Make) -> None:
    client = make(RATE_LIMIT_STAFF_PER_MINUTE="3")
    subject = unique("clinician:web")
    token = headers("clinician", subject=subject)["Authorization"][7:]
    assert client.post("/app/login", data={"token": token}).status_code == 303
    item = add_item(add_patient(), unique("web-rl"), "red")
    codes = [client.post(f"/app/items/{item}/nothing", data={}).status_code for _ in range(4)]
    assert codes == [404, 404, 404, 429]
    # The same subject's bearer token shares the budget.
    bearer = headers("clinician", subject=subject)
    assert client.post("/api/worklist/w-x/acknowledge", json={}, headers=bearer).status_code == 429


def test_zero_turns_a_limit_off(make: Make) -> None:
    client = make(RATE_LIMIT_STAFF_PER_MINUTE="0")
    auth = headers("clinician", subject=unique("clinician:off"))
    codes = {
        client.post("/api/worklist/w-x/resolve", json={}, headers=auth).status_code
        for _ in range(40)
    }
    assert codes == {404}


def test_failed_sign_ins_are_limited_per_address_and_successful_ones_are_not(
    make: Make,
) -> None:
    client = make(RATE_LIMIT_LOGIN_PER_MINUTE="10")
    good = headers("clinician", subject=unique("clinician:login"))["Authorization"][7:]
    for _ in range(15):  # a morning's sign-ins behind one proxy address
        assert client.post("/app/login", data={"token": good}).status_code == 303
    for n in range(10):
        response = client.post("/app/login", data={"token": f"guess-{n}"})
        assert response.status_code == 401
    locked = client.post("/app/login", data={"token": good})
    assert locked.status_code == 429
    assert 1 <= retry_after(locked) <= 6
    assert locked.headers["content-type"].startswith("text/html")
    assert "For mange mislykkede innlogginger" in locked.text
    assert 'name="token"' in locked.text, "the form is shown again"
    assert "triage_session" not in locked.headers.get("set-cookie", "")
    # The API is keyed by token, not by address: unaffected.
    auth = headers("clinician", subject=unique("clinician:api"))
    assert client.post("/api/worklist/w-x/resolve", json={}, headers=auth).status_code == 404


# --- the limiter's Redis side alone -------------------------------------------------------------


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


@pytest.fixture
def fresh_clients() -> Iterator[None]:
    """Each app below gets its own Redis client, as separate API processes have (a client
    closes its connections when the event loop it ran on ends)."""
    security._redis_buckets.clear()
    yield
    security._redis_buckets.clear()


def test_two_api_processes_share_one_budget_through_redis(fresh_clients: None) -> None:
    import redis

    first = limited_app(REDIS_TEST_URL, 6)
    security._redis_buckets.clear()
    second = limited_app(REDIS_TEST_URL, 6)
    patient = unique("p-shared")
    auth = patient_token(patient)
    codes = [(first if n % 2 else second).post("/fhir/Observation", headers=auth) for n in range(7)]
    assert [r.status_code for r in codes] == [201] * 6 + [429]
    assert 1 <= retry_after(codes[-1]) <= 10
    assert codes[-1].json()["issue"][0]["code"] == "throttled"
    key = f"{security.KEY_PREFIX}patient:{patient}"
    with redis.Redis.from_url(REDIS_TEST_URL) as store:
        ttl = store.pttl(key)
    assert 0 < ttl <= 61_000, "the bucket expires once full again: Redis does not fill up"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_redis() -> Iterator[str]:
    """A server that accepts connections and never answers (a hung Redis)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    stop.set()
    thread.join(timeout=5)
    for conn in accepted:
        conn.close()
    server.close()


@pytest.mark.parametrize("state", ["down", "hanging"])
def test_writes_are_accepted_when_redis_does_not_answer(
    state: str,
    silent_redis: str,
    fresh_clients: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"redis://127.0.0.1:{closed_port()}/0" if state == "down" else silent_redis
    client = limited_app(url, 1)
    patient = unique("p-open")
    with caplog.at_level(logging.WARNING, logger="api.security"):
        codes = [client.post("/fhir/Observation", headers=patient_token(patient)) for _ in range(5)]
    assert [r.status_code for r in codes] == [201] * 5, "fail open: nothing refused"
    warnings = [r for r in caplog.records if r.name == "api.security"]
    assert len(warnings) == 1, "one warning per outage, not one per request"
    assert "Redis did not answer" in warnings[0].getMessage()
    assert patient not in warnings[0].getMessage()


def test_limits_apply_again_when_redis_answers_again(
    fresh_clients: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(security, "REDIS_PAUSE", 0.0)  # ask again at once
    client = limited_app(REDIS_TEST_URL, 2)
    buckets = security._redis_buckets[REDIS_TEST_URL]
    # The test client runs each request on an event loop of its own, and each loop connects
    # anew: to a Redis that is not there, then to the real one again.
    buckets.url = f"redis://127.0.0.1:{closed_port()}/0"
    auth = patient_token(unique("p-back"))
    assert [client.post("/fhir/Observation", headers=auth).status_code for _ in range(3)] == [
        201
    ] * 3
    buckets.url = REDIS_TEST_URL
    codes = [client.post("/fhir/Observation", headers=auth).status_code for _ in range(3)]
    assert codes == [201, 201, 429]


# --- CORS -----------------------------------------------------------------------------------

PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type",
}


def test_cors_is_closed_by_default(make: Make) -> None:
    client = make()
    evil = {"Origin": "https://evil.example"}
    preflight = client.options("/fhir/Observation", headers={**evil, **PREFLIGHT})
    read = client.get("/fhir/metadata", headers=evil)
    assert read.status_code == 200
    for response in (preflight, read):
        assert not [h for h in response.headers if h.lower().startswith("access-control-")]


def test_cors_allows_exactly_the_configured_origins(make: Make) -> None:
    client = make(CORS_ORIGINS="https://app.example.no, https://other.example.no")
    good = {"Origin": "https://app.example.no"}
    preflight = client.options("/fhir/Observation", headers={**good, **PREFLIGHT})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example.no"
    methods = {m.strip() for m in preflight.headers["access-control-allow-methods"].split(",")}
    assert methods == {"GET", "POST", "PUT", "PATCH", "DELETE"}
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert "access-control-allow-credentials" not in preflight.headers
    read = client.get("/fhir/metadata", headers=good)
    assert read.headers["access-control-allow-origin"] == "https://app.example.no"

    evil = {"Origin": "https://evil.example"}
    refused = client.options("/fhir/Observation", headers={**evil, **PREFLIGHT})
    assert "access-control-allow-origin" not in refused.headers
    assert "access-control-allow-origin" not in client.get("/fhir/metadata", headers=evil).headers


# --- headers ------------------------------------------------------------------------------------

WEB_CSP = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "object-src": {"'none'"},
    "base-uri": {"'none'"},
    "frame-ancestors": {"'none'"},
    "form-action": {"'self'"},
}


def csp(response: Any) -> dict[str, set[str]]:
    directives = [d.split() for d in response.headers["content-security-policy"].split(";")]
    return {d[0]: set(d[1:]) for d in directives if d}


def assert_common(response: Any) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    policy = response.headers["permissions-policy"]
    for feature in ("camera", "microphone", "geolocation"):
        assert f"{feature}=()" in policy
    assert "strict-transport-security" not in response.headers


def test_pages_have_the_strict_policy_and_are_not_cached(make: Make) -> None:
    client = make()
    token = headers("clinician")["Authorization"][7:]
    responses = [client.get("/app/login"), client.post("/app/login", data={"token": "x"})]
    assert client.post("/app/login", data={"token": token}).status_code == 303
    patient = add_patient()
    responses += [client.get(path) for path in ("/app", f"/app/patients/{patient}")]
    for response in responses:
        assert csp(response) == WEB_CSP, response.request.url
        assert response.headers["cache-control"] == "no-store"
        assert_common(response)
    static = client.get("/app/static/app.js")
    assert static.status_code == 200 and "no-store" not in static.headers.get("cache-control", "")
    assert_common(static)


def test_the_api_has_a_deny_all_policy_and_patient_data_is_not_cached(make: Make) -> None:
    client = make(RATE_LIMIT_PATIENT_PER_MINUTE="1", MAX_BODY_BYTES="5000")
    patient = add_patient()
    staff = headers("clinician")
    own = patient_headers(patient)
    created = client.post(
        "/fhir/Observation", json=weight(f"Patient/{patient}", 1, ident=unique("h")), headers=own
    )
    assert created.status_code == 201
    responses = {
        "created": created,
        "fhir read": client.get(f"/fhir/Patient/{patient}", headers=staff),
        "resource read": client.get(created.headers["location"], headers=staff),
        "patient": client.get(f"/api/patients/{patient}", headers=staff),
        "worklist": client.get("/api/worklist", headers=staff),
        "throttled": client.post("/fhir/Observation", json={}, headers=own),
        "too large": client.post("/fhir/Observation", content=b"x" * 6000, headers=staff),
        "unauthorized": client.get(f"/fhir/Patient/{patient}"),
    }
    expected = {
        "created": 201,
        "fhir read": 200,
        "resource read": 200,
        "patient": 200,
        "worklist": 200,
        "throttled": 429,
        "too large": 413,
        "unauthorized": 401,
    }
    assert {k: r.status_code for k, r in responses.items()} == expected
    for name, response in responses.items():
        assert csp(response) == {"default-src": {"'none'"}, "frame-ancestors": {"'none'"}}, name
        assert response.headers["cache-control"] == "no-store", name
        assert_common(response)


def test_hsts_when_configured(make: Make) -> None:
    client = make(HSTS="true")
    for path in ("/fhir/metadata", "/app/login"):
        hsts = client.get(path).headers["strict-transport-security"]
        assert re.fullmatch(r"max-age=\d{8,}; includeSubDomains", hsts), hsts
