"""Engines and the unit of work: one engine per process, a session per use case."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlmodel import Session, create_engine

from runtime import caches
from runtime.settings import get_settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
OSLO = ZoneInfo("Europe/Oslo")
DB_THREADS = 12  # request threads per API process, and pooled connections per engine
PING_AFTER_IDLE = 2.0  # seconds a pooled connection may rest before it is tested


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API read while the worker writes; busy_timeout makes a writer wait for
    # the other process's transaction instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    dbapi_connection.create_function("oslo_date", 1, oslo_date, deterministic=True)


def oslo_date(stored: str | None) -> str | None:
    """The Europe/Oslo calendar day of a UTC time as SQLite keeps it ('YYYY-MM-DD
    HH:MM:SS[.ffffff]'), as 'YYYY-MM-DD': SQLite knows no time zones, and the statistics
    count by the Oslo day (PostgreSQL does this with ``AT TIME ZONE``)."""
    if stored is None:
        return None
    when = dt.datetime.fromisoformat(stored).replace(tzinfo=dt.UTC)
    return when.astimezone(OSLO).date().isoformat()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get their folder created and safe pragmas."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # As many pooled connections as an API process runs request threads (api.app limits
    # them to DB_THREADS): a connection opened past the pool is closed after one request,
    # and opening one costs PostgreSQL a process fork, more than the request itself.
    engine = create_engine(url, pool_size=DB_THREADS, max_overflow=5)
    event.listen(engine, "checkin", _rested_since)
    event.listen(engine, "checkout", _ping_if_rested)
    return engine


def _rested_since(_dbapi_connection: Any, record: Any) -> None:
    record.info["rested_since"] = time.monotonic()


def _ping_if_rested(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Test a pooled connection that has rested: one PostgreSQL restarted, or a firewall
    cut, while it lay in the pool is replaced before a request uses it (the pool takes
    another on ``DisconnectionError``). One in use moments ago is not asked: the ping on
    every checkout (``pool_pre_ping``) was a round trip per request and per judging job.
    A connection that breaks while busy fails that one request or job (the app sends
    again on 503; the job is retried), and SQLAlchemy then discards the whole pool."""
    rested = record.info.get("rested_since")
    if rested is None or time.monotonic() - rested < PING_AFTER_IDLE:
        return
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        dbapi_connection.rollback()
    except Exception as exc:
        raise DisconnectionError("a pooled connection did not answer") from exc


_engines = caches.lru("db.engine", maxsize=1)
_lock = threading.Lock()


def get_engine() -> Engine:
    """This process's engine for ``DATABASE_URL``, made on first use."""
    with _lock:
        engine: Engine | None = _engines.get("engine")
        if engine is None:
            engine = make_engine(get_settings().database_url)
            _engines["engine"] = engine
        return engine


def dispose_engine() -> None:
    """Drop pooled connections (after a fork: connections must not cross processes)."""
    with _lock:
        engine: Engine | None = _engines.get("engine")
    if engine is not None:
        engine.dispose(close=False)


def _close_engine() -> None:
    with _lock:
        engine: Engine | None = _engines.get("engine")
    if engine is not None:
        # dispose() closes the pooled connections; one checked out just now (a request
        # still running) goes back later to the old pool, which nothing uses again: close
        # it then, instead of leaving it open for the garbage collector.
        event.listen(engine.pool, "checkin", _close_returned)
        engine.dispose()


def _close_returned(dbapi_connection: Any, record: Any) -> None:
    if dbapi_connection is not None:
        record.invalidate()


caches.on_reset("db.engine", _close_engine)  # before the registry forgets it


@contextmanager
def session_scope() -> Iterator[Session]:
    """The one unit of work: a session committed on success and rolled back on error.

    Every use case opens its own (``usecases/``); nothing else commits."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def migrate(url: str | None = None) -> None:
    """Bring the database to the newest migration (Alembic ``upgrade head``)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # configparser treats % as interpolation; URLs may hold %-escapes.
    config.set_main_option(
        "sqlalchemy.url", (url or get_settings().database_url).replace("%", "%%")
    )
    command.upgrade(config, "head")
