"""The FastAPI application: routers, error shapes, body limit, request ids.

``create_app(settings)`` builds an app on those settings (the environment's when none are
given: uvicorn's ``--factory``, the tests and the benches call it so); the app keeps them
on ``app.state.settings``, where routes find them through :data:`api.deps.SettingsDep`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from api import (
    errors,
    fhir,
    metrics,
    notifications,
    ops,
    pathways,
    patients,
    replay,
    reports,
    security,
    stats,
    web,
    worklist,
)
from api.middleware import BodyLimit, RequestId
from fhir_adapters import warm_up
from runtime.settings import Settings, get_settings
from store.db import DB_THREADS


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    # The first use of each fhir.resources model costs 4-40 ms: pay it before traffic.
    warm_up()
    # Blocking endpoints run in anyio's worker threads; no more of them than pooled
    # database connections, so a burst queues for a thread instead of opening connections.
    anyio.to_thread.current_default_thread_limiter().total_tokens = DB_THREADS
    yield


def create_app(settings: Settings | None = None) -> FastAPI:
    if settings is None:
        settings = get_settings()
    app = FastAPI(
        title="Behovsstyrt poliklinikk – triage",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    errors.install(app)
    for module in (
        ops,
        metrics,
        fhir,
        worklist,
        patients,
        pathways,
        replay,
        stats,
        reports,
        notifications,
    ):
        app.include_router(module.router)
    web.install(app)  # the clinicians' pages under /app
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    security.install(app, settings)  # rate limits, security headers, CORS
    app.add_middleware(RequestId)
    return app
