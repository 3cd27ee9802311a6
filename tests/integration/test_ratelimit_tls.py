"""The rate limiter's Redis over TLS (``rediss://``): redis-py's client speaks TLS, so a
``rediss://`` URL is counted in Redis like ``redis://``, never silently in each process.

The test Redis speaks plain TCP; a TLS front in this process (a certificate made with
``openssl`` for 127.0.0.1, the client checking it against that certificate) stands for a
TLS Redis: the bucket is in the real Redis behind it, reached only through TLS."""

from __future__ import annotations

import logging
import select
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import redis
from redis.asyncio.connection import Connection, SSLConnection, UnixDomainSocketConnection

from api import security
from runtime.settings import Settings
from tests.conftest import REDIS_TEST_URL, TEST_SECRET
from tests.integration.api_rows import unique
from tests.integration.security_helpers import limited_app, patient_token, retry_after


@pytest.fixture
def fresh_clients() -> Iterator[None]:
    security._redis_buckets.clear()
    yield
    security._redis_buckets.clear()


def buckets(url: str) -> security.LocalBuckets | security.RedisBuckets:
    return security.buckets_for(Settings(environment="test", jwt_secret=TEST_SECRET, redis_url=url))


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("rediss://cache.example:6380/3", SSLConnection),
        ("redis://cache.example:6380/3", Connection),
        ("unix:///run/redis.sock?db=3", UnixDomainSocketConnection),
    ],
)
def test_each_redis_url_gets_a_client_of_its_kind_and_rediss_one_with_tls(
    url: str, kind: type, fresh_clients: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="api.security"):
        store = buckets(url)
    assert isinstance(store, security.RedisBuckets), "counted in Redis, not in each process"
    assert not caplog.records, "no fallback warning"
    pool = store.new_client().connection_pool
    assert pool.connection_class is kind
    assert pool.connection_kwargs["db"] == 3
    if kind is not UnixDomainSocketConnection:
        assert (pool.connection_kwargs["host"], pool.connection_kwargs["port"]) == (
            "cache.example",
            6380,
        )
    if kind is SSLConnection:  # the server's certificate is checked by default
        assert pool.connection_kwargs.get("ssl_cert_reqs", "required") == "required"


def test_a_url_redis_does_not_speak_is_counted_in_each_process_with_a_warning(
    fresh_clients: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="api.security"):
        store = buckets("http://cache.example:6379/0")
    assert isinstance(store, security.LocalBuckets)
    assert ["counted in each process" in r.getMessage() for r in caplog.records] == [True]


class TlsFront:
    """Accepts TLS on a free port and relays each connection to the test Redis."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        target = urlsplit(REDIS_TEST_URL)
        self.target = (target.hostname or "127.0.0.1", target.port or 6379)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = int(self.server.getsockname()[1])
        self.sessions = 0  # TLS handshakes completed
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                raw, _ = self.server.accept()
            except OSError:
                continue
            thread = threading.Thread(target=self._relay, args=(raw,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _relay(self, raw: socket.socket) -> None:
        """One thread per connection, so the TLS socket is never used by two at once."""
        try:
            raw.settimeout(5)
            tls = self.context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()
            return
        self.sessions += 1
        with tls, socket.create_connection(self.target, timeout=5) as plain:
            while not self.stop.is_set():
                ready, _, _ = select.select([tls, plain], [], [], 0.2)
                try:
                    if tls in ready or tls.pending():
                        data = tls.recv(65536)
                        if not data:
                            return
                        plain.sendall(data)
                    if plain in ready:
                        data = plain.recv(65536)
                        if not data:
                            return
                        tls.sendall(data)
                except (OSError, ssl.SSLError):
                    return

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=5)
        self.server.close()


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[tuple[str, TlsFront]]:
    """``rediss://`` URL of a TLS front for the test Redis (its database), and the front."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    front = TlsFront(cert, key)
    db = urlsplit(REDIS_TEST_URL).path.lstrip("/") or "0"
    yield f"rediss://127.0.0.1:{front.port}/{db}?ssl_ca_certs={quote(str(cert))}", front
    front.close()


def test_two_api_processes_share_one_budget_through_redis_over_tls(
    tls_redis: tuple[str, TlsFront], fresh_clients: None, caplog: pytest.LogCaptureFixture
) -> None:
    url, front = tls_redis
    first = limited_app(url, 4)
    security._redis_buckets.clear()
    second = limited_app(url, 4)
    patient = unique("p-tls")
    auth = patient_token(patient)
    with caplog.at_level(logging.WARNING, logger="api.security"):
        codes = [
            (first if n % 2 else second).post("/fhir/Observation", headers=auth) for n in range(5)
        ]
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    assert [r.status_code for r in codes] == [201] * 4 + [429]
    assert 1 <= retry_after(codes[-1]) <= 15
    assert front.sessions >= 2, "every check went through TLS"
    with redis.Redis.from_url(REDIS_TEST_URL) as store:
        assert store.exists(f"{security.KEY_PREFIX}patient:{patient}") == 1
