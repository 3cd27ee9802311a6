"""A replay job the broker or a worker lost is sent again by the periodic re-send, and one
sent again too often is shown as failed, not left "queued" for ever; on both databases."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import col

from store.db import session_scope
from store.trials import ReplayJob
from tests.integration.test_replay_api import draft, post
from usecases.replay import jobs

STALE = dt.timedelta(minutes=10)


def status(job_id: str) -> tuple[str, str | None]:
    with session_scope() as session:
        job = session.get(ReplayJob, job_id)
        assert job is not None
        return job.status, job.error


def test_lost_jobs_are_sent_again_and_at_last_shown_as_failed(client: TestClient) -> None:
    queued = post(client, draft()).json()["id"]
    now = dt.datetime.now(dt.UTC)
    with session_scope() as session:  # other tests' jobs are not this test's to count
        session.execute(
            sa.update(ReplayJob).where(col(ReplayJob.id) != queued).values(status="done")
        )
    # Just asked for: the worker may still be on its way to it.
    assert jobs.resend(now, STALE) == 0
    # Still queued a minute later: the message was lost; it is sent again.
    assert jobs.resend(now + dt.timedelta(minutes=2), STALE) == 1

    # A job whose worker died while it ran, and nothing redelivered it.
    with session_scope() as session:
        session.execute(
            sa.update(ReplayJob)
            .where(col(ReplayJob.id) == queued)
            .values(status="running", started_at=now, attempts=1)
        )
    assert jobs.resend(now + dt.timedelta(minutes=5), STALE) == 0  # still within its time
    assert jobs.resend(now + dt.timedelta(minutes=11), STALE) == 1
    assert status(queued) == ("running", None)

    # Run and lost again and again: shown as failed, with the reason.
    with session_scope() as session:
        session.execute(sa.update(ReplayJob).where(col(ReplayJob.id) == queued).values(attempts=3))
    assert jobs.resend(now + dt.timedelta(minutes=11), STALE) == 0
    assert status(queued) == ("failed", "lost: sent again without an answer")
