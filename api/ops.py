"""Liveness (``/health``: the process lives) and readiness (``/ready``: database, broker and a
worker answer)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text

from runtime.settings import Settings, get_settings
from store.db import get_engine, session_scope
from usecases.health import alive

router = APIRouter(tags=["operations"])


@router.get("/health")
def health() -> dict[str, str]:
    """200 while the process lives."""
    return {"status": "ok"}


@router.get("/ready")
def ready(settings: Annotated[Settings, Depends(get_settings)]) -> JSONResponse:
    """200 only when the database and the broker answer and a worker's heartbeat is newer
    than three heartbeat intervals; else 503. The body says what each check found."""
    checks: dict[str, Any] = {}
    try:
        with get_engine().connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # report, never crash a probe
        checks["database"] = f"unavailable: {type(exc).__name__}"
    checks["broker"] = _broker_status(settings)
    checks["worker"] = (
        _worker_status(settings) if checks["database"] == "ok" else "unknown: no database"
    )
    ok = all(value == "ok" or value.startswith("ok:") for value in checks.values())
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503
    )


def _worker_status(settings: Settings) -> str:
    window = 3 * settings.worker_heartbeat_seconds
    now = dt.datetime.now(dt.UTC)
    try:
        with session_scope() as session:
            count, newest = alive(session, now)
    except Exception as exc:
        return f"unavailable: {type(exc).__name__}"
    if not count or newest is None:
        return f"no worker heartbeat in the last {window} s"
    return f"ok: {count} alive, newest {max(0, round((now - newest).total_seconds()))} s ago"


def _broker_status(settings: Settings) -> str:
    if not settings.redis_url:
        return "ok" if settings.broker_dir.exists() or _make(settings) else "unavailable"
    try:
        import redis

        client = redis.Redis.from_url(
            settings.redis_url, socket_connect_timeout=2, socket_timeout=2
        )
        client.ping()
        return "ok"
    except Exception as exc:
        return f"unavailable: {type(exc).__name__}"


def _make(settings: Settings) -> bool:
    settings.broker_dir.mkdir(parents=True, exist_ok=True)
    return True
