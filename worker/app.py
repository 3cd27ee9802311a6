"""The worker's Celery entry point (``celery -A worker.app worker|beat``) and its signals.

The app is made by :func:`messaging.celery_app.make_celery`; this module adds what only a
worker process does: fresh database connections after a fork, the JSON log lines, the
request id on every line of a task, the heartbeat and the worker's own ``/metrics``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any

from celery import Celery
from celery.signals import (
    setup_logging,
    task_postrun,
    task_prerun,
    worker_process_init,
    worker_ready,
    worker_shutdown,
)

from messaging.celery_app import make_celery
from runtime import metrics
from runtime.logs import REQUEST_ID, configure_logging
from runtime.settings import Settings, get_settings
from store.db import dispose_engine
from usecases.health import heartbeat


def create_app(settings: Settings | None = None) -> Celery:
    """The worker's app: the settings' broker, with the tasks of :mod:`worker.tasks`."""
    app = make_celery(settings or get_settings(), include=["worker.tasks"])
    app.set_default()  # the shared tasks bind to this app in this process
    return app


# What ``celery -A worker.app worker|beat`` runs; this module is the Celery entry point.
app = create_app()


@worker_process_init.connect
def _fresh_connections(**_: Any) -> None:
    # Pooled database connections must not cross a fork into a worker process.
    dispose_engine()


@setup_logging.connect
def _logging(loglevel: Any = "INFO", **_: Any) -> None:
    # A receiver here means Celery leaves logging to us: the same JSON lines as the API.
    configure_logging("beat" if "beat" in sys.argv else "worker", loglevel or "INFO")


def sent_request_id(request: Any) -> str | None:
    """The request id the API put in a task's message headers (a batch or a re-send carries
    none; the task then takes the id stored with each outbox row)."""
    value = getattr(request, "request_id", None) or (request.headers or {}).get("request_id")
    return value if isinstance(value, str) else None


_task_tokens: dict[str, Any] = {}


@task_prerun.connect
def _task_started(task_id: str = "", task: Any = None, **_: Any) -> None:
    # Celery's own lines about the task ("succeeded in ...") carry the request id too.
    _task_tokens[task_id] = REQUEST_ID.set(sent_request_id(task.request) if task else None)


@task_postrun.connect
def _task_done(task_id: str = "", **_: Any) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        with contextlib.suppress(ValueError):  # set in another context (a threads pool)
            REQUEST_ID.reset(token)


@worker_ready.connect
def _started(sender: Any = None, **_: Any) -> None:
    # The main process only: a heartbeat for /ready, and /metrics when asked for.
    settings = get_settings()
    name = f"{getattr(sender, 'hostname', 'worker')}:{os.getpid()}"
    heartbeat.start(name, settings.worker_heartbeat_seconds)
    if settings.worker_metrics_port:
        metrics.serve(settings.worker_metrics_port)


@worker_shutdown.connect
def _stopping(**_: Any) -> None:
    heartbeat.stop()
