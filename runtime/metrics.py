"""The worker's Prometheus metrics (no patient data, no per-patient labels).

They live in the worker's processes. With ``PROMETHEUS_MULTIPROC_DIR`` set (``triage run``
sets it for its children) every process writes them to files there, and the API's
``/metrics`` on the same machine adds them up; a worker on another machine serves its own
``/metrics`` on ``WORKER_METRICS_PORT``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterable

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, start_http_server

from runtime import clock

log = logging.getLogger(__name__)

TRIAGE_LATENCY = Histogram(
    "triage_latency_seconds",
    "Seconds from an upload's receipt to its committed triage result",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600),
)
TASKS_RETRIED = Counter(
    "triage_tasks_retried", "Triage attempts that failed and were scheduled again", ["task"]
)
TASKS_FAILED = Counter(
    "triage_tasks_failed",
    "Uploads shown on the worklist as could not be triaged, by reason",
    ["reason"],
)
SHADOW_JUDGED = Counter(
    "triage_shadow_judged", "Uploads judged with a pathway's shadow version (results stored)"
)
SHADOW_FAILED = Counter(
    "triage_shadow_failed",
    "Shadow judgings that failed (the active judging is unaffected; no shadow result)",
)
OUTBOX_RESENT = Counter(
    "triage_outbox_resent", "Outbox rows handed to the broker again by the periodic re-send"
)


def observe_triaged(received: Iterable[dt.datetime], now: dt.datetime | None = None) -> None:
    """One latency observation per upload whose results were just committed."""
    now = now or clock.now()
    for at in received:
        TRIAGE_LATENCY.observe(max(0.0, (now - at).total_seconds()))


def serve(port: int) -> None:
    """The worker's own ``/metrics`` (for a worker on another machine than the API)."""
    registry: CollectorRegistry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        # Without the folder, the pool's child processes keep their counts to themselves.
        log.warning("WORKER_METRICS_PORT without PROMETHEUS_MULTIPROC_DIR: only this process")
    start_http_server(port, addr="0.0.0.0", registry=registry)
    log.info("worker metrics on port %d", port)
