"""Faults against the real services: Redis stopped, a worker SIGKILLed in the middle of a
task, PostgreSQL restarted, each while patients post.

Each test breaks something while patients post, lets the service recover, and ends with
the exact count (tests/faults/tally.py): every accepted resource judged exactly once per
pathway, as of its own time, at the level the pure engine gives; one open worklist item per
patient and pathway holding the worst of its results; every outbox row done, nothing stored
twice."""

from __future__ import annotations

import time

import pytest
from sqlmodel import select

from store.db import session_scope
from store.models import Outbox
from tests.faults import tally
from tests.faults.app import Ledger
from tests.faults.burst import Burst, kill_a_worker_midway, patients_of, settle_and_count
from tests.faults.stack import Stack

pytestmark = pytest.mark.slow

PATIENTS = 24


def undispatched(patient_ids: list[str]) -> int:
    with session_scope() as session:
        rows = session.exec(
            select(Outbox.id).where(
                Outbox.patient_id.in_(patient_ids),  # type: ignore[attr-defined]
                Outbox.dispatched_at == None,  # noqa: E711 (SQL)
            )
        ).all()
    return len(rows)


def test_redis_stopped_while_patients_post_then_started_again(running: Stack) -> None:
    started = time.monotonic()
    patients = patients_of(running, PATIENTS, ("epilepsy",))
    ledger = Ledger()
    burst = Burst(running, list(patients.values()), ledger)
    burst.round()
    running.redis.stop()
    burst.round()  # the API keeps accepting: the data is committed, the hand-over waits
    burst.round()
    # The fault took: uploads accepted while Redis was down were never handed over.
    assert undispatched(list(patients)) >= PATIENTS
    time.sleep(2)
    running.redis.start()  # empty: whatever was queued in it is gone too
    burst.round()
    settle_and_count("redis stopped, then started empty", patients, ledger, {"epilepsy"}, started)


def test_worker_killed_mid_task_then_a_new_one_started(running: Stack) -> None:
    started = time.monotonic()
    patients = patients_of(running, PATIENTS, ("epilepsy",))
    ledger = Ledger()
    burst = Burst(running, list(patients.values()), ledger)
    burst.round()
    tally.wait_quiet(list(patients))
    held = kill_a_worker_midway(running, burst.round)  # one more follow-up each, then none
    result = settle_and_count(
        "worker SIGKILLed mid-task, new one", patients, ledger, {"epilepsy"}, started
    )
    # The job killed halfway had no later upload of its patient to ride along with: only
    # the periodic re-send of a row handed over but never done can have finished it.
    for outbox_id in {int(n) for n in held}:
        with session_scope() as session:
            row = session.get(Outbox, outbox_id)
        assert row is not None and row.attempts >= 1, (outbox_id, row, result)


def test_postgres_restarted_during_a_burst_of_posts(running: Stack) -> None:
    started = time.monotonic()
    patients = patients_of(running, PATIENTS, ("epilepsy",))
    ledger = Ledger()
    burst = Burst(running, list(patients.values()), ledger)
    burst.round()

    def restart() -> float:
        time.sleep(0.5)  # the apps are mid-burst
        # Down until some app has been turned away (a 503 or a cut connection), so the
        # fault surely meets requests in flight however the apps' timing falls.
        return running.postgres.down_until(lambda: bool(ledger.retries), timeout=20)

    down = burst.during(restart, most=40)
    burst.round()
    settle_and_count("postgresql restarted mid-burst", patients, ledger, {"epilepsy"}, started)
    assert ledger.retries, f"PostgreSQL was down {down:.1f} s and no app had to send again"
