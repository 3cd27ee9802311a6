"""Replay jobs: asked for through the API, run by the worker (docs/replay.md).

``start`` checks the draft exactly as publishing does (422 with line numbers), stores a
:class:`store.models.ReplayJob` row and sends the worker its id after the commit. ``run``
replays from scratch and stores the report: a job killed halfway and run again (Celery
redelivers a task whose worker died, or the task is sent again) gives the same report, as
the report depends only on the draft, the period and the stored data.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import sqlalchemy as sa
from sqlmodel import col

from messaging.dispatch import send_replay
from store.db import session_scope
from store.models import new_id, utcnow
from store.pathways import version_row
from store.trials import ReplayJob
from triage import load_pathway_text
from usecases.access import Actor, audit, require_pathway
from usecases.errors import NotFound, Unprocessable
from usecases.publishing import PublishRefused, check
from usecases.replay.period import Period, PeriodError, parse_period
from usecases.replay.run import replay

log = logging.getLogger(__name__)
NOT_REPLAYED = "the draft was not replayed"
QUEUED = dt.timedelta(minutes=1)  # a job still queued this long was lost on its way


def start(
    actor: Actor,
    pathway_id: str,
    text: str,
    since: str | None,
    start_day: str | None,
    end_day: str | None,
    request_id: str | None = None,
) -> ReplayJob:
    """Check the draft, store the job and hand it to the worker."""
    require_pathway(actor, pathway_id)
    try:
        draft = check(text, expected_id=pathway_id)
    except PublishRefused as exc:
        raise Unprocessable(NOT_REPLAYED, exc.problems) from None
    try:
        period = parse_period(since, start_day, end_day, utcnow())
    except PeriodError as exc:
        raise Unprocessable(NOT_REPLAYED, [str(exc)]) from None
    with session_scope() as session:
        if version_row(session, pathway_id) is None:
            raise NotFound(f"no pathway {pathway_id!r} is published")
        job = ReplayJob(
            id=new_id("rj"),
            pathway_id=pathway_id,
            version=draft.version,
            sha256=draft.sha256,
            text=text,
            period_start=period.start,
            period_end=period.end,
            period_text=period.text,
            requested_by=actor.subject,
        )
        session.add(job)
        audit(session, actor, "pathway.replay", None, target=pathway_id, job=job.id)
    send_replay(job.id, request_id)
    return job


def read(actor: Actor, pathway_id: str, job_id: str) -> ReplayJob:
    """A job of a granted pathway: its status, and its report when done (audited: the
    report names patients)."""
    require_pathway(actor, pathway_id)
    with session_scope() as session:
        job = session.get(ReplayJob, job_id)
        if job is None or job.pathway_id != pathway_id:
            raise NotFound("no such replay job")
        audit(session, actor, "pathway.replay.read", None, target=pathway_id, job=job_id)
        return job


def progress(actor: Actor, pathway_id: str, job_id: str) -> tuple[str, int, int]:
    """A job's status and how many uploads it has replayed, of how many: not audited, as
    it names no patient (the page asks every few seconds while the job runs)."""
    require_pathway(actor, pathway_id)
    with session_scope() as session:
        job = session.get(ReplayJob, job_id)
        if job is None or job.pathway_id != pathway_id:
            raise NotFound("no such replay job")
        return job.status, job.done_uploads, job.total_uploads


def run(job_id: str, after_page: Callable[[int], None] | None = None) -> str:
    """Replay a job's draft from scratch and store the report; ``done``, or
    ``already-done`` for a job done before."""
    with session_scope() as session:
        job = session.get(ReplayJob, job_id, with_for_update=True)
        if job is None:
            raise NotFound(f"replay job {job_id} does not exist")
        if job.status == "done":
            return "already-done"
        job.status, job.started_at, job.attempts = "running", utcnow(), job.attempts + 1
        job.done_uploads, job.report, job.error = 0, None, None
        session.add(job)
        text, pathway_id = job.text, job.pathway_id
        period = Period(job.period_start, job.period_end, job.period_text)
    draft = load_pathway_text(text, f"{pathway_id}.yaml")  # checked when the job was made
    try:
        report = replay(draft, period, progress=_progress(job_id), after_page=after_page)
    except Exception as exc:
        _finish(job_id, "failed", error=type(exc).__name__)
        raise
    _finish(job_id, "done", report=report.to_dict())
    log.info("replay job %s done: %d uploads", job_id, report.tally.uploads)
    return "done"


def _progress(job_id: str) -> Callable[[int, int], None]:
    def told(done: int, total: int) -> None:
        with session_scope() as session:
            session.execute(
                sa.update(ReplayJob)
                .where(col(ReplayJob.id) == job_id)
                .values(done_uploads=done, total_uploads=total)
            )

    return told


def _finish(job_id: str, status: str, **values: object) -> None:
    with session_scope() as session:
        session.execute(
            sa.update(ReplayJob)
            .where(col(ReplayJob.id) == job_id)
            .values(status=status, finished_at=dt.datetime.now(dt.UTC), **values)
        )


SENT_AGAIN_AT_MOST = 3  # a job sent this many times and never finished is shown as failed


def resend(now: dt.datetime, stale_after: dt.timedelta) -> int:
    """Hand over again the jobs a broker or a worker lost: queued for a minute and not
    started (the broker was down when it was asked for, or lost the message), or running
    for longer than ``stale_after`` (its worker died and nothing redelivered it). A job
    sent again too often is shown as failed. How many were sent."""
    waiting = sa.and_(col(ReplayJob.status) == "queued", col(ReplayJob.created) <= now - QUEUED)
    stuck = sa.and_(
        col(ReplayJob.status) == "running", col(ReplayJob.started_at) <= now - stale_after
    )
    with session_scope() as session:
        found = session.execute(
            sa.select(col(ReplayJob.id), col(ReplayJob.attempts)).where(sa.or_(waiting, stuck))
        ).all()
    sent = 0
    for job_id, attempts in found:
        if attempts >= SENT_AGAIN_AT_MOST:
            _finish(job_id, "failed", error="lost: sent again without an answer")
        elif send_replay(job_id, None):
            sent += 1
    if found:
        log.info("replay jobs sent again: %d", sent)
    return sent
