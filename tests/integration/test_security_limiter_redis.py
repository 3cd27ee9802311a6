"""The rate limiter's Redis side alone, around a minimal app: two clients (as two API
processes) share one budget, and a Redis that is down or hangs lets writes through until
it answers again."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator

import pytest

from api import security
from tests.conftest import REDIS_TEST_URL
from tests.integration.api_rows import unique
from tests.integration.security_helpers import limited_app, patient_token, retry_after


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
