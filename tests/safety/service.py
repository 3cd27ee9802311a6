"""``triage run`` (API, Celery worker and beat as its children, the demo data loaded into the
empty database) as a subprocess on one backend, for the attack suite's ``api`` fixture:

- ``embedded``: a temporary SQLite file and kombu's filesystem broker;
- ``postgres+redis``: a private schema in PostgreSQL and a flushed Redis database of this
  suite's own (``SAFETY_REDIS_URL``).
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from tests.conftest import _postgres_schema
from tests.safety.client import Api
from tests.safety.recording import Recorder
from tests.safety.tokens import SECRET, cli_token
from tests.triage_run import Run

BACKENDS = [
    name.strip()
    for name in os.environ.get("SAFETY_BACKENDS", "embedded,postgres+redis").split(",")
    if name.strip()
]
REDIS_URL = os.environ.get("SAFETY_REDIS_URL", "redis://127.0.0.1:6379/12")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _flushed_redis() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).flushdb()
    except Exception as exc:
        pytest.fail(
            f"Redis is required at {REDIS_URL} ({exc.__class__.__name__}); start it with "
            'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no'
        )


@contextmanager
def triage_run(name: str, folder: Path, recorder: Recorder) -> Iterator[Api]:
    """``triage run`` on backend ``name`` in ``folder``, ready (demo loaded); stopped (and
    its PostgreSQL schema dropped) on leaving."""
    env = {
        "ENVIRONMENT": "test",
        "JWT_SECRET": SECRET,
        "HOST": "127.0.0.1",
        "PORT": str(_free_port()),
        "BROKER_DIR": str(folder / "broker"),
        "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"),
        "LOG_FORMAT": "json",
        # the overdue check every 5 s instead of 5 min, so test_overdue.py need not wait
        "OVERDUE_CHECK_SECONDS": "5",
    }
    drop: Callable[[], None] = lambda: None  # noqa: E731
    if name == "embedded":
        env |= {"DATABASE_URL": f"sqlite:///{folder / 'triage.sqlite3'}", "REDIS_URL": ""}
    else:
        url, drop = _postgres_schema()
        _flushed_redis()
        env |= {"DATABASE_URL": url, "REDIS_URL": REDIS_URL}
    started = time.monotonic()
    run = Run(env, folder)
    try:
        try:
            line = run.wait_for("The service runs at ", 300)
            clinician = run.wait_for("TOKEN=", 5).removeprefix("TOKEN=")
        except RuntimeError as exc:
            pytest.fail(str(exc), pytrace=False)
        base = line.split()[4]
        author = cli_token(env, folder, "--role", "author", "--pathways", "*")
        service = Api(name, base, clinician, author, recorder)
        sys.stderr.write(
            f"\n[safety] triage run on {name} ready in {time.monotonic() - started:.1f} s\n"
        )
        yield service
        service.http.close()
    finally:
        run.stop()
        drop()
