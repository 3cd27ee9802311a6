"""A job takes its patient's waiting uploads along (usecases/judging/job.py). When another job
already holds its own row, it lets go of what it took before it waits: a job never waits
while holding another job's row, so two jobs of one patient cannot wait for each other.
PostgreSQL (row locks; SQLite serialises writers), a real worker held at its commit."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from messaging.dispatch import dispatch
from store.db import get_engine
from tests.conftest import Service
from tests.integration import worker_rows as rows
from usecases.judging import job as jobs

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
def held(pg_service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[Service]:
    """A worker that holds each job open for a while before it commits."""
    monkeypatch.setenv("TRIAGE_TEST_PAUSE_SECONDS", "6")
    monkeypatch.setenv("TRIAGE_TEST_PAUSE_AT", "commit")
    yield pg_service
    pg_service.stop_workers()


def _answer(pid: str, minutes: int) -> dict[str, object]:
    return rows.response(pid, rows.epilepsy_answers(0), NOW - dt.timedelta(minutes=minutes))


def test_a_job_whose_row_is_taken_waits_holding_nothing(
    held: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = rows.patient()
    rows.enrol(pid, "epilepsy")
    first = rows.store(pid, _answer(pid, 30))[1]
    second = rows.store(pid, _answer(pid, 20))[1]
    held.start_worker(tmp_path)
    for name in ("TRIAGE_TEST_PAUSE_SECONDS", "TRIAGE_TEST_PAUSE_AT"):
        monkeypatch.delenv(name)  # the job run here below is not held
    dispatch([first])
    log = held.logs[-1]
    rows.wait_for(lambda: b"test pause" in log.read_bytes(), timeout=30, what="the held job")
    # The held job took the second upload along. A third arrives, and the second's own
    # task runs: its row is held, so it must wait, and not keep the third while it does.
    third = rows.store(pid, _answer(pid, 10))[1]
    outcome: list[str] = []
    late = threading.Thread(target=lambda: outcome.append(jobs.triage_outbox(second)))
    late.start()
    engine = get_engine()

    def waiting_for_a_row() -> bool:
        with engine.connect() as conn:
            query = (
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND query LIKE 'SELECT outbox.id%'"
            )
            return bool(conn.execute(sa.text(query)).scalar_one())

    rows.wait_for(waiting_for_a_row, timeout=30, what="the second job waiting for its row")
    with engine.connect() as conn:  # NOWAIT: an error if anyone holds the third row
        locked = "SELECT id FROM outbox WHERE id = :id FOR UPDATE NOWAIT"
        assert conn.execute(sa.text(locked), {"id": third}).scalar_one() == third
        conn.rollback()
    late.join(timeout=60)
    assert outcome == ["already-done"]  # the held job committed the second upload's result
    assert jobs.triage_outbox(third) == "done"
    assert rows.counts(pid)["results"] == 3
