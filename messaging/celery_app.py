"""The Celery app, made by a factory from settings, and the names of the tasks it runs.

Redis when ``REDIS_URL`` is set; otherwise kombu's filesystem transport in ``var/broker``
(:mod:`messaging.broker`), which needs no server and still runs tasks asynchronously in a
separate worker process. Tasks are acknowledged late and rejected when a worker dies, so a
killed task is redone; the outbox and its periodic re-send cover what a broker loses
(FIELD-NOTES: celery#3541).

Senders (the API, the periodic re-send) do not import the tasks: they send by the names
below through :func:`client`, so nothing here depends on the worker.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import redis
from celery import Celery
from kombu import pools

from messaging.broker import TRANSPORT
from runtime import caches
from runtime.settings import Settings, get_settings

# Task names: the contract between senders and the worker (stored in queued messages, so
# renaming one strands what is queued under the old name).
TRIAGE_OUTBOX = "worker.tasks.triage_outbox"
TRIAGE_OUTBOXES = "worker.tasks.triage_outboxes"
RESEND_OUTBOX = "worker.tasks.resend_outbox"
MARK_OVERDUE = "worker.tasks.mark_overdue"
CREATE_FORM_TASKS = "worker.tasks.create_form_tasks"
REFRESH_STATISTICS = "worker.tasks.refresh_statistics"
REPLAY_PATHWAY = "worker.tasks.replay_pathway"
DELIVER_NOTIFICATIONS = "worker.tasks.deliver_notifications"
SEND_REMINDERS = "worker.tasks.send_reminders"


def broker_transport(settings: Settings) -> str | None:
    """Our filesystem transport for the embedded default (``messaging/broker.py``); for Redis,
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


def broker_status(settings: Settings) -> str:
    """``ok`` when the broker answers (Redis: a PING within 2 s; the embedded broker: its
    folder, made if missing), else ``unavailable: <the error's type>``; for ``/ready``."""
    if not settings.redis_url:
        if not settings.broker_dir.exists():
            settings.broker_dir.mkdir(parents=True, exist_ok=True)
        return "ok"
    try:
        client = redis.Redis.from_url(
            settings.redis_url, socket_connect_timeout=2, socket_timeout=2
        )
        client.ping()
        return "ok"
    except Exception as exc:  # report, never crash a probe
        return f"unavailable: {type(exc).__name__}"


def make_celery(settings: Settings, include: Sequence[str] = ()) -> Celery:
    """A Celery app for ``settings``: the worker's (``include`` names its task modules) or
    a client's that only sends tasks by name."""
    app = Celery("triage", broker=settings.broker_url, include=list(include))
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
                ("resend-outbox", RESEND_OUTBOX, settings.outbox_resend_seconds),
                ("overdue-responses", MARK_OVERDUE, settings.overdue_check_seconds),
                ("form-tasks", CREATE_FORM_TASKS, settings.form_tasks_seconds),
                ("statistics", REFRESH_STATISTICS, settings.stats_refresh_seconds),
                ("notifications", DELIVER_NOTIFICATIONS, settings.notify_deliver_seconds),
                ("reminders", SEND_REMINDERS, settings.overdue_check_seconds),
            ]
        },
    )
    return app


_clients = caches.lru("messaging.client", maxsize=1)
_lock = threading.Lock()


def client() -> Celery:
    """This process's app for sending tasks by name, made from the settings on first use."""
    with _lock:
        app: Celery | None = _clients.get("app")
        if app is None:
            app = make_celery(get_settings())
            _clients["app"] = app
        return app


def use(settings: Settings) -> Celery:
    """Send through an app made from ``settings`` from now on (tests point the senders at
    a broker that is down, then back)."""
    _drop_pools()
    with _lock:
        app = make_celery(settings)
        _clients["app"] = app
        return app


def _drop_pools() -> None:
    # kombu keeps a global pool per URL: a closed one left registered fails the next
    # publish ("Acquire on closed pool"), so all are reset with the app that used them.
    pools.reset()  # type: ignore[no-untyped-call]


caches.on_reset("messaging.client", _drop_pools)
