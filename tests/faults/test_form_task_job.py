"""The periodic job that creates form tasks (docs/tasks.md), killed in the middle of a run:
a run SIGKILLed with its round of tasks inserted but not committed leaves nothing; a second
run started meanwhile waits on the UNIQUE key, then creates each task; a third run creates
none. Each patient ends with exactly one ready task for the due time."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import col, select

from store.db import session_scope
from store.tasks import FormTask
from tests.faults.burst import patients_of
from tests.faults.stack import Stack, kill_tree, wait_until

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _job(running: Stack, now: dt.datetime, log: Path, pause: bool) -> subprocess.Popen[bytes]:
    """``create_due_tasks(now)`` in a process of its own, as the worker runs it."""
    code = (
        "import datetime as dt; from usecases.tasks import create_due_tasks; "
        f"print('created', create_due_tasks(dt.datetime.fromisoformat('{now.isoformat()}')))"
    )
    extra = {"FORM_TASKS_TEST_PAUSE_SECONDS": "120"} if pause else {}
    with log.open("wb") as handle:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=running._child_env(extra),
            stdout=handle,
            stderr=subprocess.STDOUT,
        )


def test_the_form_task_job_killed_mid_run_then_run_again_creates_each_task_once(
    running: Stack, tmp_path: Path
) -> None:
    patients = patients_of(running, 12, ("epilepsy",))
    now = dt.datetime.now(dt.UTC) + dt.timedelta(days=200)  # past the first due (P6M)
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = _job(running, now, first_log, pause=True)
    wait_until(lambda: b"test pause" in first_log.read_bytes(), 60, "the paused job", first_log)
    second = _job(running, now, second_log, pause=False)
    kill_tree(first.pid)  # SIGKILL: its transaction is rolled back by the database
    first.wait(20)
    assert second.wait(120) == 0, second_log.read_text()
    assert "created" in second_log.read_text()
    third_log = tmp_path / "third.log"
    third = _job(running, now, third_log, pause=False)
    assert third.wait(120) == 0, third_log.read_text()
    assert "created 0" in third_log.read_text()  # the same moment again: nothing new
    with session_scope() as session:
        rows = session.exec(
            select(FormTask.patient_id, FormTask.status).where(
                col(FormTask.patient_id).in_(list(patients))
            )
        ).all()
    assert sorted(rows) == sorted((p, "ready") for p in patients)
