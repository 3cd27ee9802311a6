"""Celery tasks: each a few lines around a use case (:mod:`usecases.judging.job`,
:mod:`usecases.periodic`).

``triage_outbox`` is acknowledged late and retried with exponential backoff and full
jitter (the first wait up to ``TRIAGE_RETRY_BASE_SECONDS``, each next one up to twice as
long, at most :data:`MAX_BACKOFF`); when the retries run out, the patient lands on the
worklist as yellow "could not be triaged" instead. Tasks take ids, never rows, and log ids
and error types only (an error's message may quote patient data); every line written while
an outbox row is worked carries the request id of the upload that made the row.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from typing import Any

from celery import shared_task

from messaging.celery_app import (
    CREATE_FORM_TASKS,
    DELIVER_NOTIFICATIONS,
    MARK_OVERDUE,
    REFRESH_STATISTICS,
    REPLAY_PATHWAY,
    RESEND_OUTBOX,
    SEND_REMINDERS,
    TRIAGE_OUTBOX,
    TRIAGE_OUTBOXES,
)
from runtime import clock, metrics
from runtime.logs import current_request_id, request_context
from runtime.settings import get_settings
from usecases import notifications, periodic
from usecases.judging import job as jobs
from usecases.replay import jobs as replay_jobs
from usecases.statistics import refresh as statistics_refresh
from usecases.tasks import create_due_tasks
from worker.app import sent_request_id

log = logging.getLogger(__name__)

MAX_RETRIES = 5
MAX_BACKOFF = 300.0


def backoff(retries: int) -> float:
    """Seconds before the next try: full jitter over an exponentially growing ceiling."""
    ceiling = min(MAX_BACKOFF, get_settings().triage_retry_base_seconds * 2**retries)
    return random.uniform(0, ceiling)


@shared_task(bind=True, name=TRIAGE_OUTBOX, acks_late=True, max_retries=MAX_RETRIES)
def triage_outbox(self: Any, outbox_id: int) -> str:
    """Triage one outbox row; retried, and shown as failed when the retries run out."""
    retries = self.request.retries
    with request_context(sent_request_id(self.request)):
        try:
            return jobs.triage_outbox(outbox_id, attempt=retries)
        except Exception as exc:
            if retries >= self.max_retries:
                log.error(
                    "outbox %s failed %d times (%s)", outbox_id, retries + 1, type(exc).__name__
                )
                jobs.record_failure(
                    outbox_id, jobs.describe_error(exc), retries + 1, type(exc).__name__
                )
                return "failed"
            log.warning("outbox %s: %s; retrying", outbox_id, type(exc).__name__)
            metrics.TASKS_RETRIED.labels("triage_outbox").inc()
            raise self.retry(countdown=backoff(retries)) from None


@shared_task(name=TRIAGE_OUTBOXES, acks_late=True)
def triage_outboxes(outbox_ids: list[int]) -> int:
    """Triage several outbox rows that one API process committed close together.

    One message instead of one per upload saves the API most of its publishing cost under
    load. Each row is still its own transaction; a row that fails is handed to
    :func:`triage_outbox`, whose retries and failure handling are the same as for a row
    sent alone. A redelivered batch finds its done rows done and changes nothing.
    """
    done = 0
    for outbox_id in outbox_ids:
        with request_context(None):  # each row's own id, read with the row
            try:
                jobs.triage_outbox(outbox_id)
                done += 1
            except Exception as exc:
                log.warning("outbox %s: %s; retrying alone", outbox_id, type(exc).__name__)
                metrics.TASKS_RETRIED.labels("triage_outboxes").inc()
                triage_outbox.apply_async(
                    args=[outbox_id],
                    countdown=backoff(0),
                    retry=False,
                    headers={"request_id": current_request_id()},
                )
    return done


@shared_task(name=RESEND_OUTBOX, acks_late=True)
def resend_outbox() -> int:
    """Hand over outbox rows, and replay jobs, that were never sent or were lost on the
    way."""
    stale = dt.timedelta(seconds=get_settings().outbox_stale_seconds)
    replay_jobs.resend(clock.now(), stale)
    return periodic.resend_outbox(stale_after=stale)


@shared_task(name=MARK_OVERDUE, acks_late=True)
def mark_overdue() -> int:
    """Put enrolled patients whose scheduled response is overdue on the worklist."""
    return periodic.mark_overdue()


@shared_task(name=CREATE_FORM_TASKS, acks_late=True)
def create_form_tasks() -> int:
    """Create the patients' form tasks that have fallen due (docs/tasks.md)."""
    return create_due_tasks()


@shared_task(name=REFRESH_STATISTICS, acks_late=True)
def refresh_statistics() -> int:
    """Recount the statistics of every pathway counted more than half an interval ago, so a
    statistics call finds them fresh (docs/statistics.md, "How fresh the figures are")."""
    half = dt.timedelta(seconds=get_settings().stats_refresh_seconds / 2)
    return statistics_refresh.refresh_all(clock.now(), half)


@shared_task(bind=True, name=REPLAY_PATHWAY, acks_late=True)
def replay_pathway(self: Any, job_id: str) -> str:
    """Replay a draft pathway on the stored uploads of a period (docs/replay.md). Late
    acknowledgement: a worker killed halfway leaves the task to be run again, from scratch."""
    with request_context(sent_request_id(self.request)):
        try:
            return replay_jobs.run(job_id)
        except Exception as exc:
            log.error("replay job %s failed (%s)", job_id, type(exc).__name__)
            return "failed"


@shared_task(name=DELIVER_NOTIFICATIONS, acks_late=True)
def deliver_notifications() -> int:
    """Post the notification events whose time has come; failures wait with backoff in their
    rows (docs/notifications.md), so a run never retries inside the task."""
    return notifications.deliver_due(clock.now())


@shared_task(name=SEND_REMINDERS, acks_late=True)
def send_reminders() -> int:
    """Enqueue the reminders of ready form tasks whose ``remind_after`` has come."""
    return notifications.send_reminders(clock.now())
