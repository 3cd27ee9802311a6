"""Liveness (``/health``: the process lives) and readiness (``/ready``: database, broker and a
worker answer; the checks are :func:`usecases.operations.readiness`)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import SettingsDep
from usecases.operations import readiness

router = APIRouter(tags=["operations"])


@router.get("/health")
def health() -> dict[str, str]:
    """200 while the process lives."""
    return {"status": "ok"}


@router.get("/ready")
def ready(settings: SettingsDep) -> JSONResponse:
    """200 only when the database and the broker answer and a worker's heartbeat is newer
    than three heartbeat intervals; else 503. The body says what each check found."""
    found = readiness(settings)
    return JSONResponse(
        {"status": "ok" if found.ok else "unavailable", "checks": found.checks},
        status_code=200 if found.ok else 503,
    )
