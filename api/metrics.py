"""``GET /metrics``: Prometheus text format, no patient data and no per-patient labels.

Counters and histograms of this process (requests; with ``PROMETHEUS_MULTIPROC_DIR`` also
the worker's, added up from the folder every process on this machine writes to), and gauges
read from the database at scrape time (cached a few seconds, so scrapes stay cheap): outbox
depth, open worklist items per level and kind, worker heartbeats. It needs no token, so it
must be reachable from the hospital network only; with ``METRICS_TOKEN`` set, a Bearer with
that value is required.
"""

from __future__ import annotations

import hmac
import os
import threading
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from api.deps import SettingsDep
from runtime import caches
from runtime.settings import Settings
from usecases import operations
from usecases.operations import Snapshot

router = APIRouter(tags=["operations"])

CACHE_SECONDS = 5.0
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# The database's figures, read at most once per CACHE_SECONDS however often it is scraped.
_snapshots = caches.ttl("metrics.database", maxsize=1, seconds=CACHE_SECONDS)

REQUESTS = Counter("triage_http_requests", "HTTP requests answered", ["method", "route", "status"])
DURATION = Histogram(
    "triage_http_request_duration_seconds",
    "Seconds from a request's arrival to its answer",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request; ``route`` is a template, so the series stay few."""
    method = method if method in METHODS else "OTHER"
    REQUESTS.labels(method, route, str(status)).inc()
    DURATION.labels(method, route).observe(seconds)


class DatabaseCollector(Collector):
    """Gauges read from the database when scraped, at most once per :data:`CACHE_SECONDS`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # one scrape reads the database, the others wait
        self.heartbeat_seconds = 10  # WORKER_HEARTBEAT_SECONDS; set by render()

    def snapshot(self) -> Snapshot:
        with self._lock:
            snap: Snapshot | None = _snapshots.get("database")
            if snap is None:
                snap = operations.snapshot(self.heartbeat_seconds)
                _snapshots["database"] = snap
            return snap

    def forget(self) -> None:
        with self._lock:
            _snapshots.clear()

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot()
        yield GaugeMetricFamily(
            "triage_metrics_database_up", "1 when the last read of the database worked", snap.up
        )
        if not snap.up:
            return
        yield GaugeMetricFamily(
            "triage_outbox_depth",
            "Uploads waiting for triage (outbox rows not done)",
            snap.outbox_pending,
        )
        yield GaugeMetricFamily(
            "triage_outbox_failed",
            "Uploads that could not be triaged (failed outbox rows)",
            snap.outbox_failed,
        )
        items = GaugeMetricFamily(
            "triage_worklist_open_items",
            "Open worklist items by level (the clinician's, if overridden) and kind",
            labels=["level", "kind"],
        )
        for (level, kind), count in sorted(snap.items.items()):
            items.add_metric([level, kind], count)
        yield items
        yield GaugeMetricFamily(
            "triage_workers_alive",
            "Workers whose heartbeat is newer than three heartbeat intervals",
            snap.workers_alive,
        )
        yield GaugeMetricFamily(
            "triage_worker_heartbeat_age_seconds",
            "Seconds since the newest worker heartbeat (NaN: none)",
            snap.heartbeat_age,
        )


database = DatabaseCollector()
_database_registry = CollectorRegistry(auto_describe=False)
_database_registry.register(database)


def render(settings: Settings) -> bytes:
    """This process's metrics (or, in multiprocess mode, all processes'), then the gauges."""
    database.heartbeat_seconds = settings.worker_heartbeat_seconds
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        own = generate_latest(registry)
    else:
        own = generate_latest(REGISTRY)
    return own + generate_latest(_database_registry)


def _allowed(request: Request, settings: Settings) -> bool:
    if not settings.metrics_token:
        return True
    given = request.headers.get("authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {settings.metrics_token}".encode())


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, settings: SettingsDep) -> Response:
    """Prometheus text format; a Bearer ``METRICS_TOKEN`` when one is set."""
    if not _allowed(request, settings):
        return JSONResponse(
            {"error": "the metrics need the Bearer METRICS_TOKEN"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Response(render(settings), media_type=CONTENT_TYPE_LATEST)
