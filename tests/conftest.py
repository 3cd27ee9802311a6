"""Fixtures for tests that run the service: a fresh database and broker per test module,
on the embedded default (SQLite + filesystem broker) or on PostgreSQL + Redis.

PostgreSQL and Redis are not optional: a test that needs them fails when they are
missing, with the command that starts them; it never skips.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT.parent / "shared" / "contract"
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
# Outside development a placeholder secret is refused, so the test services get their own.
TEST_SECRET = f"test-secret-{uuid.uuid4().hex}{uuid.uuid4().hex}"


@dataclass
class Service:
    """One configured service: its environment, and the worker processes it started."""

    name: str
    env: dict[str, str]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def start_worker(self, log_dir: Path, concurrency: int = 1) -> subprocess.Popen[bytes]:
        """A real Celery worker process (not eager mode) against this service."""
        log = log_dir / f"worker-{len(self.workers)}.log"
        env = {**os.environ, **self.env}
        # The child keeps its own copy of the file descriptor; the parent's is closed at once.
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "worker.app",
                    "worker",
                    "--loglevel=INFO",
                    f"--concurrency={concurrency}",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "-n",
                    f"w{len(self.workers)}-{uuid.uuid4().hex[:6]}@%h",
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.workers.append(proc)
        self.logs.append(log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if b"ready." in log.read_bytes():
                return proc
            if proc.poll() is not None:
                raise RuntimeError(f"the worker exited: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        raise RuntimeError(f"the worker did not become ready: {log.read_text()[-2000:]}")

    def stop_workers(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.workers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.workers.clear()


def _activate(env: dict[str, str]) -> dict[str, str | None]:
    """Put ``env`` into os.environ and rebuild every cached object that read it."""
    previous = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    _reset_caches()
    return previous


def _restore(previous: dict[str, str | None]) -> None:
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    _reset_caches()


def _reset_caches() -> None:
    from runtime import caches

    caches.reset()


def _prepare(env: dict[str, str]) -> None:
    from runtime.settings import get_settings
    from store.db import migrate, session_scope
    from usecases.publishing import sync_rules_dir

    migrate()
    with session_scope() as session:
        sync_rules_dir(session, get_settings().rules_dir)


def _postgres_schema() -> tuple[str, Callable[[], None]]:
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        pytest.fail(
            f"PostgreSQL is required at {PG_ADMIN_URL} ({exc.__class__.__name__}); start it with "
            "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
        )

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()

    return f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}", drop


def _redis_flushed() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2).flushdb()
    except Exception as exc:
        pytest.fail(
            f"Redis is required at {REDIS_TEST_URL} ({exc.__class__.__name__}); start it with "
            'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no'
        )


@pytest.fixture(scope="module")
def embedded_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The embedded default: a SQLite file and the filesystem broker, no servers."""
    base = tmp_path_factory.mktemp("embedded")
    env = {
        "ENVIRONMENT": "test",
        "JWT_SECRET": TEST_SECRET,
        "STATS_MAX_AGE_SECONDS": "0",  # every statistics call counts afresh (a test for the
        "DATABASE_URL": f"sqlite:///{base / 'triage.sqlite3'}",
        "REDIS_URL": "",
        "BROKER_DIR": str(base / "broker"),
    }
    service = Service("embedded", env)
    previous = _activate(env)
    _prepare(env)
    yield service
    service.stop_workers()
    _restore(previous)


@pytest.fixture(scope="module")
def pg_service() -> Iterator[Service]:
    """PostgreSQL (a schema of its own) and Redis (a flushed database of its own)."""
    url, drop = _postgres_schema()
    _redis_flushed()
    env = {
        "ENVIRONMENT": "test",
        "JWT_SECRET": TEST_SECRET,
        "STATS_MAX_AGE_SECONDS": "0",  # max age itself sets its own)
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_TEST_URL,
    }
    service = Service("postgres+redis", env)
    previous = _activate(env)
    _prepare(env)
    yield service
    service.stop_workers()
    _restore(previous)
    drop()


@pytest.fixture(scope="module", params=["embedded", "postgres+redis"])
def service(request: pytest.FixtureRequest) -> Service:
    """Each test that takes ``service`` runs on both the embedded default and PG + Redis."""
    name = "embedded_service" if request.param == "embedded" else "pg_service"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


@pytest.fixture
def contract() -> Path:
    assert CONTRACT.is_dir(), f"the contract must be beside the checkout: {CONTRACT}"
    return CONTRACT


@contextmanager
def live_server() -> Iterator[str]:
    """``api.app:create_app`` served by uvicorn in a thread on a free port; yields its URL."""
    from api.app import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(), host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
