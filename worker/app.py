"""The Celery application, configured from settings.

Redis when ``REDIS_URL`` is set; otherwise kombu's filesystem transport in ``var/broker``,
which needs no server and still runs tasks asynchronously in a separate worker process.
Tasks are acknowledged late and rejected when a worker dies, so a killed task is redone;
the outbox and its periodic re-send cover what a broker loses (FIELD-NOTES: celery#3541).
"""

from __future__ import annotations

import contextlib
import os
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
from kombu import pools

from store.db import dispose_engine
from store.settings import Settings, get_settings
from worker.broker import TRANSPORT


def broker_transport(settings: Settings) -> str | None:
    """Our filesystem transport for the embedded default (``worker/broker.py``); for Redis,
    the transport its URL names."""
    return None if settings.redis_url else TRANSPORT


def broker_options(settings: Settings) -> dict[str, Any]:
    if settings.redis_url:
        # A publish while Redis is down must fail fast (the outbox re-sends), not hang.
        return {
            "visibility_timeout": 900,
            "socket_timeout": 5,
            "socket_connect_timeout": 3,
            "max_retries": 0,
        }
    folder = settings.broker_dir
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
        "store_processed": False,
        # kombu polls the folder once a second by default, and with prefetch 1 and late
        # acks that meant one task a second per worker process, however short the task.
        "polling_interval": 0.1,
    }


def make_celery(settings: Settings) -> Celery:
    app = Celery("triage", broker=settings.broker_url, include=["worker.tasks"])
    app.conf.update(
        broker_transport=broker_transport(settings),
        task_serializer="json",
        accept_content=["json"],
        result_backend=None,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=3,
        broker_transport_options=broker_options(settings),
        worker_hijack_root_logger=False,
        timezone="UTC",
        beat_schedule={
            name: {
                "task": task,
                "schedule": float(seconds),
                # Each run does all the work there is, so a run that waited a whole interval
                # (no worker up) is dropped, not piled up: the next tick does the same.
                "options": {"expires": float(seconds)},
            }
            for name, task, seconds in [
                ("resend-outbox", "worker.tasks.resend_outbox", settings.outbox_resend_seconds),
                ("overdue-responses", "worker.tasks.mark_overdue", settings.overdue_check_seconds),
            ]
        },
    )
    return app


celery_app = make_celery(get_settings())


@worker_process_init.connect
def _fresh_connections(**_: Any) -> None:
    # Pooled database connections must not cross a fork into a worker process.
    dispose_engine()


@setup_logging.connect
def _logging(loglevel: Any = "INFO", **_: Any) -> None:
    # A receiver here means Celery leaves logging to us: the same JSON lines as the API.
    import sys

    from store.logs import configure_logging

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
    from store.logs import REQUEST_ID

    _task_tokens[task_id] = REQUEST_ID.set(sent_request_id(task.request) if task else None)


@task_postrun.connect
def _task_done(task_id: str = "", **_: Any) -> None:
    from store.logs import REQUEST_ID

    token = _task_tokens.pop(task_id, None)
    if token is not None:
        with contextlib.suppress(ValueError):  # set in another context (a threads pool)
            REQUEST_ID.reset(token)


@worker_ready.connect
def _started(sender: Any = None, **_: Any) -> None:
    # The main process only: a heartbeat for /ready, and /metrics when asked for.
    from worker.heartbeat import heartbeat

    settings = get_settings()
    heartbeat.start(f"{getattr(sender, 'hostname', 'worker')}:{os.getpid()}")
    if settings.worker_metrics_port:
        from worker.metrics import serve

        serve(settings.worker_metrics_port)


@worker_shutdown.connect
def _stopping(**_: Any) -> None:
    from worker.heartbeat import heartbeat

    heartbeat.stop()


def reconfigure(settings: Settings) -> None:
    """Point the already-built app at another broker (tests switch between the embedded
    default and Redis in one process); cached connections and producers are dropped."""
    celery_app.conf.broker_url = settings.broker_url
    celery_app.conf.broker_transport = broker_transport(settings)
    celery_app.conf.broker_transport_options = broker_options(settings)
    # app.pool is kombu's global pool for the old URL: closing it alone leaves a closed pool
    # registered, and the next publish fails ("Acquire on closed pool"). Reset them all.
    pools.reset()  # type: ignore[no-untyped-call]
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
