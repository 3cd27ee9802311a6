"""Delivering pending events to the channel: the webhook (``NOTIFY_URL``) or, with none
configured, the log (ids and kind only).

Each due row is claimed first (its ``next_attempt_at`` moved past a lease, compared on the
old value, so two workers never post one row at once), posted outside any transaction, then
marked ``sent``, or retried with exponential backoff and jitter until
``NOTIFY_GIVE_UP_SECONDS`` after it was created (a day), then ``failed``. Every attempt
carries the row's own idempotency key, so a receiver that got a post whose answer was lost
recognises the next one.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from typing import Any

from sqlmodel import col, select, update

from messaging import webhook
from runtime import clock
from runtime.settings import Settings, get_settings
from store.db import session_scope
from store.notifications import Notification

__all__ = ["LEASE", "deliver_due", "deliver_one", "event_of", "retry_delay"]

log = logging.getLogger(__name__)

# A claimed row is not claimed again for this long (a worker killed mid-post: retried then).
LEASE = dt.timedelta(minutes=5)


def event_of(row: Notification) -> dict[str, Any]:
    """The JSON the channel receives: ids, the link and the kind; no health data."""
    return {
        "id": row.id,
        "kind": row.kind,
        "patient": row.patient_id,
        "pathway": row.pathway_id,
        "task": row.task_id,
        "resource": row.resource_id,
        "link": row.link,
        "created": row.created.astimezone(dt.UTC).isoformat(),
    }


def retry_delay(attempts: int, settings: Settings) -> float:
    """Seconds before attempt ``attempts + 1``: a ceiling doubling from the base up to the
    max, half of it fixed and half random ("equal jitter": waits grow, retries spread)."""
    ceiling = min(
        settings.notify_retry_max_seconds,
        settings.notify_retry_base_seconds * 2 ** max(0, attempts - 1),
    )
    return float(ceiling / 2 + random.uniform(0, ceiling / 2))


def deliver_due(now: dt.datetime | None = None, limit: int = 200) -> int:
    """Deliver the pending rows whose time has come (oldest first, at most ``limit``);
    return how many the channel took (or the log, without a channel)."""
    now = now or clock.now()
    with session_scope() as session:
        due = session.exec(
            select(Notification.id, Notification.next_attempt_at)
            .where(col(Notification.status) == "pending")
            .where(col(Notification.next_attempt_at) <= now)
            .order_by(col(Notification.next_attempt_at))
            .limit(limit)
        ).all()
    done = 0
    for notification_id, at in due:
        if _claim(notification_id, at, now):
            done += deliver_one(notification_id, now) in ("sent", "logged")
    return done


def _claim(notification_id: str, at: dt.datetime | None, now: dt.datetime) -> bool:
    with session_scope() as session:
        claimed = session.execute(
            update(Notification)
            .where(col(Notification.id) == notification_id)
            .where(col(Notification.status) == "pending")
            .where(col(Notification.next_attempt_at) == at)
            .values(next_attempt_at=now + LEASE)
        )
        return bool(claimed.rowcount)  # type: ignore[attr-defined]


def deliver_one(notification_id: str, now: dt.datetime | None = None) -> str:
    """Post one row now (whatever its time) and record the outcome; return its status."""
    now = now or clock.now()
    settings = get_settings()
    with session_scope() as session:
        row = session.get(Notification, notification_id)
        if row is None or row.status != "pending":
            return row.status if row is not None else "missing"
        event, key, created = event_of(row), row.idempotency_key, row.created
    error = None
    if settings.notify_url:
        try:
            webhook.post(settings.notify_url, webhook.body_of(event), settings.notify_secret, key)
        except webhook.ChannelError as exc:
            error = str(exc)
    else:
        log.info("notification %s (%s) logged: no NOTIFY_URL", event["id"], event["kind"])
    with session_scope() as session:
        row = session.get(Notification, notification_id)
        assert row is not None
        row.attempts += 1
        if error is None:
            row.status = "sent" if settings.notify_url else "logged"
            row.sent_at = now
            row.next_attempt_at = None
            row.last_error = None
        else:
            row.last_error = error
            deadline = created + dt.timedelta(seconds=settings.notify_give_up_seconds)
            if now >= deadline:
                row.status = "failed"
                row.next_attempt_at = None
                log.warning("notification %s failed after %d attempts", row.id, row.attempts)
            else:
                wait = dt.timedelta(seconds=retry_delay(row.attempts, settings))
                row.next_attempt_at = min(now + wait, deadline)
        session.add(row)
        return row.status
