"""Two runs of the form-task job at once on PostgreSQL (docs/tasks.md): the UNIQUE key
(patient, pathway, due) and ``ON CONFLICT DO NOTHING`` create each task once, and the
"task ready" hook runs once per task created, never for a row another run inserted."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from sqlmodel import col, select

from store.db import session_scope
from store.tasks import FormTask
from tests.conftest import Service
from tests.integration.api_rows import add_patient, unique
from tests.integration.stats_rows import enrol, publish_scheduled
from usecases.tasks import create as creating
from usecases.tasks import create_due_tasks

PATIENTS = 80


def test_two_runs_at_once_create_each_task_once(
    pg_service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    pathway = unique("parallel")
    publish_scheduled(pathway)
    start = dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC)
    patients = [add_patient() for _ in range(PATIENTS)]
    for patient in patients:
        enrol(patient, pathway, start, own=False)
    told: Counter[str] = Counter()
    lock = threading.Lock()

    def hook(session: object, task: FormTask) -> None:
        with lock:
            told[task.id] += 1

    monkeypatch.setattr(creating, "on_task_ready", hook)
    barrier = threading.Barrier(2)
    now = dt.datetime(2026, 2, 11, tzinfo=dt.UTC)

    def run() -> None:
        barrier.wait()
        create_due_tasks(now)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with session_scope() as session:
        rows = session.exec(
            select(FormTask.id, FormTask.patient_id).where(col(FormTask.pathway_id) == pathway)
        ).all()
    assert sorted(p for _, p in rows) == sorted(patients)  # one task each
    ours = {task_id for task_id, _ in rows}
    assert {t: n for t, n in told.items() if t in ours} == dict.fromkeys(ours, 1)
    create_due_tasks(now)  # a third run adds none
    with session_scope() as session:
        again = session.exec(select(FormTask.id).where(col(FormTask.pathway_id) == pathway)).all()
    assert len(again) == PATIENTS
