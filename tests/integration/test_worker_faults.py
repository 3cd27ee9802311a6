"""Faults with real Celery workers: a job that always fails, a worker killed halfway through
a job, outbox rows the broker never got, and rows lost again and again."""

from __future__ import annotations

import datetime as dt
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, multiprocess

from messaging.dispatch import dispatch
from store.db import session_scope
from store.models import Outbox
from tests.conftest import Service
from tests.integration import worker_rows as rows
from usecases import periodic
from usecases.judging import job as jobs

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
def fresh(service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[Service]:
    """The service with fast retries for the workers a test starts; stopped at its end."""
    monkeypatch.setenv("TRIAGE_RETRY_BASE_SECONDS", "0.05")
    yield service
    service.stop_workers()


def red(pid: str) -> dict[str, object]:
    return rows.response(pid, rows.epilepsy_answers(5, side_effects="mild"), NOW)


def worker_counters(folder: Path) -> dict[str, float]:
    """The counters the worker processes wrote to the Prometheus multiprocess folder."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(folder))
    return {
        f"{sample.name}{sorted(sample.labels.items())}": sample.value
        for family in registry.collect()
        for sample in family.samples
        if sample.name.endswith("_total")
    }


def test_a_job_that_keeps_failing_lands_yellow_could_not_be_triaged(
    fresh: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    pid = rows.patient()
    rows.enrol(pid, "epilepsy")
    with session_scope() as session:  # names a resource that is not there: fails every time
        box = Outbox(patient_id=pid, resource_ids=["qr-does-not-exist"])
        session.add(box)
        session.flush()
        assert box.id is not None
        box_id = box.id
    fresh.start_worker(tmp_path)
    assert dispatch([box_id]) == 1
    rows.wait_for(lambda: rows.outbox_row(box_id).done_at, timeout=60, what="the failure")
    row = rows.outbox_row(box_id)
    assert row.failed is True
    assert row.last_error == "missing-data: MissingData (after 6 attempts)"
    (item,) = rows.items_of(pid)
    assert (item.pathway_id, item.level, item.kind, item.status) == (
        "epilepsy",
        "yellow",
        "failed",
        "open",
    )
    assert item.reasons[0]["text"] == "Kunne ikke triageres: data i innsendingen mangler"
    log = fresh.logs[-1].read_text()
    assert log.count("retrying") >= 5
    assert pid not in log  # ids of outbox rows only, never the patient
    counters = worker_counters(metrics_dir)
    assert counters["triage_tasks_retried_total[('task', 'triage_outbox')]"] == 5
    assert counters["triage_tasks_failed_total[('reason', 'missing-data')]"] == 1


def test_a_failure_never_lowers_an_item_and_is_recorded_once(service: Service) -> None:
    pid = rows.patient()
    _, first = rows.store(pid, red(pid))
    jobs.triage_outbox(first)
    _, second = rows.store(pid, red(pid))
    assert len(jobs.record_failure(second, "internal", 6, "KeyError")) == 1
    assert jobs.record_failure(second, "internal", 6, "KeyError") == []
    (item,) = rows.items_of(pid)
    assert (item.level, item.kind) == ("red", "triage")
    assert item.reasons[0]["rule"] == "many-seizures"  # worst first: the red still leads
    failed = [r for r in item.reasons if r["kind"] == "failed"]
    assert [r["text"] for r in failed] == ["Kunne ikke triageres: intern feil"]
    assert rows.counts(pid) == {"results": 1, "items": 1, "open": 1, "events": 2}


def test_a_failure_lands_only_on_the_pathways_the_upload_would_have_been_judged_on(
    service: Service,
) -> None:
    """An SpO2 reading is read by heart-failure and by COPD; a COPD patient's reading is
    judged by COPD alone, so its "could not be triaged" lands there, never on the
    heart-failure list of a patient who is not followed for heart failure."""
    pid = rows.patient()
    rows.enrol(pid, "copd")
    _, box = rows.store(pid, rows.observation(pid, "59408-5", 93, "%", NOW))
    assert len(jobs.record_failure(box, "internal", 6, "OverflowError")) == 1
    (item,) = rows.items_of(pid)
    assert (item.pathway_id, item.level, item.kind) == ("copd", "yellow", "failed")


def test_a_rejudgement_that_fails_lands_on_its_own_pathway_only(service: Service) -> None:
    pid = rows.patient()
    rows.enrol(pid, "copd")
    rows.enrol(pid, "epilepsy")
    with session_scope() as session:
        box = Outbox(
            patient_id=pid, resource_ids=[], kind="rejudge", pathway_id="epilepsy", version=9
        )
        session.add(box)
        session.flush()
        assert box.id is not None
        box_id = box.id
    assert len(jobs.record_failure(box_id, "internal", 6, "RuntimeError")) == 1
    (item,) = rows.items_of(pid)
    assert (item.pathway_id, item.level, item.kind) == ("epilepsy", "yellow", "failed")


def _kill_hard(proc_pid: int) -> None:
    """SIGKILL a worker and its pool processes: no chance to finish, ack or roll back."""
    children = Path(f"/proc/{proc_pid}/task/{proc_pid}/children").read_text().split()
    for child in children:
        os.kill(int(child), signal.SIGKILL)
    os.kill(proc_pid, signal.SIGKILL)


def test_a_task_killed_halfway_is_redone_with_nothing_doubled(
    fresh: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = rows.patient()
    rows.enrol(pid, "epilepsy")
    _, box = rows.store(pid, red(pid))
    monkeypatch.setenv("TRIAGE_TEST_PAUSE_SECONDS", "120")  # holds the job before its commit
    first = fresh.start_worker(tmp_path)
    monkeypatch.delenv("TRIAGE_TEST_PAUSE_SECONDS")
    dispatch([box])
    log = fresh.logs[-1]
    rows.wait_for(lambda: b"test pause" in log.read_bytes(), timeout=30, what="the job to start")
    _kill_hard(first.pid)
    first.wait(10)
    assert rows.counts(pid) == {"results": 0, "items": 0, "open": 0, "events": 0}
    assert rows.outbox_row(box).done_at is None

    fresh.start_worker(tmp_path)
    assert periodic.resend_outbox(stale_after=dt.timedelta(0)) >= 1
    rows.wait_for(lambda: rows.outbox_row(box).done_at, timeout=30, what="the redone job")
    assert rows.counts(pid) == {"results": 1, "items": 1, "open": 1, "events": 1}
    assert rows.items_of(pid)[0].level == "red"
    assert rows.outbox_row(box).attempts == 1  # one re-send


def test_resend_hands_over_rows_the_broker_never_got(fresh: Service, tmp_path: Path) -> None:
    pid = rows.patient()
    _, box = rows.store(pid, red(pid))  # stored, never dispatched (as if Redis was down)
    fresh.start_worker(tmp_path)
    periodic.resend_outbox()  # too young: the API may be about to dispatch it itself
    assert rows.outbox_row(box).dispatched_at is None
    assert periodic.resend_outbox(undispatched_after=dt.timedelta(0)) >= 1
    assert rows.outbox_row(box).dispatched_at is not None
    item = rows.wait_for(lambda: rows.items_of(pid), timeout=30, what="the item")[0]
    assert item.level == "red"


def test_a_row_lost_again_and_again_is_shown_as_failed(service: Service) -> None:
    pid = rows.patient()
    rows.enrol(pid, "epilepsy")
    _, box = rows.store(pid, red(pid))
    with session_scope() as session:
        row = session.get(Outbox, box)
        assert row is not None
        row.dispatched_at = NOW - dt.timedelta(hours=2)
        row.attempts = periodic.MAX_RESENDS
        session.add(row)
    periodic.resend_outbox()
    row = rows.outbox_row(box)
    assert (row.failed, row.done_at is not None) == (True, True)
    (item,) = rows.items_of(pid)
    assert (item.level, item.kind) == ("yellow", "failed")
    assert item.reasons[0]["text"] == "Kunne ikke triageres: oppgaven ble borte gjentatte ganger"


def test_a_job_that_read_older_data_never_commits_its_level_over_a_newer_one(
    fresh: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two jobs for one patient at once. The first reads a green answer and stalls before
    writing the worklist; meanwhile a red answer arrives and a second worker takes it. The
    item must end red: the newest data decides, whichever job finishes last."""
    pid = rows.patient()
    rows.enrol(pid, "epilepsy")
    green = rows.response(pid, rows.epilepsy_answers(0), NOW - dt.timedelta(hours=1))
    _, first_box = rows.store(pid, green)
    monkeypatch.setenv("TRIAGE_TEST_PAUSE_SECONDS", "12")
    monkeypatch.setenv("TRIAGE_TEST_PAUSE_AT", "evaluated")
    fresh.start_worker(tmp_path)
    monkeypatch.delenv("TRIAGE_TEST_PAUSE_SECONDS")
    monkeypatch.delenv("TRIAGE_TEST_PAUSE_AT")
    dispatch([first_box])
    slow_log = fresh.logs[-1]
    rows.wait_for(lambda: b"test pause" in slow_log.read_bytes(), timeout=30, what="job 1")

    _, second_box = rows.store(pid, red(pid))
    fresh.start_worker(tmp_path)
    dispatch([second_box])
    for box in (first_box, second_box):
        rows.wait_for(lambda box=box: rows.outbox_row(box).done_at, timeout=60, what="both jobs")

    [item] = rows.items_of(pid)
    assert item.level == "red"
    assert rows.counts(pid)["results"] == 2
