"""Triage jobs against real databases (embedded and PostgreSQL), and through a real worker.

Rows are written straight into the database (tests/integration/worker_rows.py); the job
functions are called directly, and a real Celery worker process runs the same through
the broker.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from messaging.dispatch import dispatch
from store.db import session_scope
from store.models import Enrolment, Outbox, Resource, TriageResult, WorklistItem
from store.pathways import version_row
from tests.conftest import Service
from tests.integration import worker_rows as rows
from usecases import periodic
from usecases.judging import job as jobs

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def worker(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    service.start_worker(tmp_path_factory.mktemp(f"worker-{service.name}"))
    yield service
    service.stop_workers()


def red_response(pid: str, authored: dt.datetime = NOW) -> dict[str, object]:
    return rows.response(pid, rows.epilepsy_answers(5, side_effects="mild"), authored)


def test_a_red_epilepsy_response_makes_a_red_item_with_reasons_and_ruleset(
    service: Service,
) -> None:
    pid = rows.patient()
    rows.enrol(pid, "epilepsy")
    (qr,), box = rows.store(pid, red_response(pid, NOW - dt.timedelta(hours=1)))
    assert jobs.triage_outbox(box) == "done"
    (item,) = rows.items_of(pid)
    assert (item.pathway_id, item.level, item.status, item.kind) == (
        "epilepsy",
        "red",
        "open",
        "triage",
    )
    assert item.reasons[0]["rule"] == "many-seizures"
    assert item.reasons[0]["text"] == "5 anfall siden sist (grense 3)"
    assert {r["rule"] for r in item.reasons} >= {"some-seizures", "mild-side-effects"}
    with session_scope() as session:
        version = version_row(session, "epilepsy")
        assert version is not None
        assert item.ruleset == {
            "pathway": "epilepsy",
            "version": version.version,
            "sha256": version.sha256,
        }
        resource = session.get(Resource, qr)
        assert resource is not None and resource.routed is True
        result = session.exec(select(TriageResult).where(TriageResult.patient_id == pid)).one()
    assert item.action == {"consultation": "physical", "within": "P14D"}
    assert item.due == NOW - dt.timedelta(hours=1) + dt.timedelta(days=14)
    assert item.sources == [{"resourceType": "QuestionnaireResponse", "id": qr}]
    assert (result.level, result.id, result.task_key) == (
        "red",
        item.result_id,
        f"{box}:{qr}:epilepsy",
    )
    assert (result.resource_id, result.resource_version, result.kind) == (qr, 1, "upload")
    assert result.data_time == NOW - dt.timedelta(hours=1)  # judged as of its own time
    assert item.newest is not None and item.newest["level"] == "red"
    assert (result.version, result.sha256) == (version.version, version.sha256)
    assert result.result["enrolled"] is True
    assert rows.outbox_row(box).done_at is not None


def test_a_new_green_response_is_shown_beside_the_red_the_item_holds(
    service: Service,
) -> None:
    """API.md: an item's level never falls by itself; the newer lower result is its newest."""
    pid = rows.patient()
    rows.enrol(pid, "epilepsy")
    (red,), first = rows.store(pid, red_response(pid, NOW - dt.timedelta(days=2)))
    jobs.triage_outbox(first)
    green = rows.response(pid, rows.epilepsy_answers(0), NOW - dt.timedelta(hours=2))
    _, second = rows.store(pid, green)
    jobs.triage_outbox(second)
    (item,) = rows.items_of(pid)
    assert (item.level, item.status, item.open_key) == ("red", "open", f"{pid}|epilepsy")
    assert item.reasons[0]["rule"] == "many-seizures"  # the red reason stays, with its time
    assert item.reasons[0]["at"] == (NOW - dt.timedelta(days=2)).isoformat()
    assert item.newest is not None
    assert (item.newest["level"], item.newest["at"]) == (
        "green",
        (NOW - dt.timedelta(hours=2)).isoformat(),
    )
    assert item.data_time == NOW - dt.timedelta(hours=2)
    assert {"resourceType": "QuestionnaireResponse", "id": red} in item.sources
    assert [(e.change, e.level) for e in rows.events_of(item.id)] == [
        ("created", "red"),
        ("updated", "red"),
    ]
    assert rows.counts(pid) == {"results": 2, "items": 1, "open": 1, "events": 2}


def test_running_the_same_outbox_row_twice_changes_nothing(service: Service) -> None:
    pid = rows.patient()
    _, box = rows.store(pid, red_response(pid))
    assert jobs.triage_outbox(box) == "done"
    before = rows.counts(pid)
    assert jobs.triage_outbox(box) == "already-done"
    assert rows.counts(pid) == before == {"results": 1, "items": 1, "open": 1, "events": 1}


def weight(pid: str, kg: float, at: dt.datetime) -> dict[str, object]:
    return rows.observation(pid, "29463-7", kg, "kg", at)


def test_a_new_weight_reading_is_judged_over_the_stored_last_three_days(service: Service) -> None:
    pid = rows.patient()
    rows.enrol(pid, "heart-failure")
    levels = []
    for days, kg in ((3, 82.0), (2, 82.9), (1, 83.6)):
        _, box = rows.store(pid, weight(pid, kg, NOW - dt.timedelta(days=days)))
        jobs.triage_outbox(box)
        levels.append(rows.items_of(pid)[0].level)
    assert levels == ["green", "green", "yellow"]  # +0.9 kg, then +1.6 kg over the stored days
    _, box = rows.store(pid, weight(pid, 84.3, NOW - dt.timedelta(hours=1)))
    jobs.triage_outbox(box)
    (item,) = rows.items_of(pid)
    assert item.level == "red"
    assert item.reasons[0]["rule"] == "rapid-weight-gain"
    assert item.reasons[0]["text"] == "Vektøkning 2,3 kg på 3 dager"


def test_the_patients_own_thresholds_are_used(service: Service) -> None:
    own, other = rows.patient(), rows.patient()
    rows.enrol(own, "epilepsy", {"seizures_red": 2})
    for pid in (own, other):
        _, box = rows.store(pid, rows.response(pid, rows.epilepsy_answers(2), NOW))
        jobs.triage_outbox(box)
    assert rows.items_of(own)[0].level == "red"
    assert rows.items_of(other)[0].level == "yellow"  # not enrolled: triaged with the defaults
    with session_scope() as session:
        results = {
            r.patient_id: r.result
            for r in session.exec(
                select(TriageResult).where(TriageResult.patient_id.in_([own, other]))
            )  # type: ignore[attr-defined]
        }
    assert results[own]["thresholds"]["seizures_red"] == 2
    assert results[own]["patient_thresholds"] == ["seizures_red"]
    assert results[other]["enrolled"] is False


def test_data_no_pathway_reads_is_kept_as_unrouted(service: Service) -> None:
    pid = rows.patient()
    body = rows.observation(pid, "39156-5", 24.0, "kg/m2", NOW)  # BMI: no pathway reads it
    (rid,), box = rows.store(pid, body)
    jobs.triage_outbox(box)
    with session_scope() as session:
        resource = session.get(Resource, rid)
        assert resource is not None and resource.routed is False
    assert rows.counts(pid)["items"] == 0
    assert rows.outbox_row(box).done_at is not None


@pytest.mark.parametrize("status", ["final", "cancelled"])
def test_an_observation_without_a_value_is_yellow_never_green(
    service: Service, status: str
) -> None:
    pid = rows.patient()
    rows.enrol(pid, "heart-failure")
    value = 80.0 if status == "cancelled" else None
    _, box = rows.store(pid, rows.observation(pid, "29463-7", value, "kg", NOW, status=status))
    jobs.triage_outbox(box)
    (item,) = rows.items_of(pid)
    assert (item.pathway_id, item.level) == ("heart-failure", "yellow")
    assert item.reasons[0]["kind"] == "no-reading"
    assert item.reasons[0]["text"].startswith("Måling uten verdi (weight)")


def test_data_goes_to_the_pathways_the_patient_is_enrolled_in(service: Service) -> None:
    pid = rows.patient()
    rows.enrol(pid, "hypertension-home-bp")
    _, box = rows.store(pid, rows.observation(pid, "8480-6", 150.0, "mm[Hg]", NOW))
    jobs.triage_outbox(box)
    assert [i.pathway_id for i in rows.items_of(pid)] == ["hypertension-home-bp"]


def test_two_jobs_at_once_for_one_patient_make_one_open_item(service: Service) -> None:
    pid = rows.patient()
    boxes = [
        rows.store(pid, red_response(pid, NOW - dt.timedelta(minutes=m)))[1] for m in (1, 2, 3)
    ]
    start = threading.Barrier(len(boxes))
    errors: list[BaseException] = []

    def run(box: int) -> None:
        start.wait()
        try:
            jobs.triage_outbox(box)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(box,)) for box in boxes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    counts = rows.counts(pid)
    # One result per upload and one open item; a job that took the patient's other waiting
    # uploads along writes one history event for all of them, so 1 to 3 events.
    assert {k: counts[k] for k in ("results", "items", "open")} == {
        "results": 3,
        "items": 1,
        "open": 1,
    }
    assert 1 <= counts["events"] <= 3


def test_waiting_uploads_of_a_patient_are_triaged_together(service: Service) -> None:
    pid = rows.patient()
    boxes = [
        rows.store(pid, red_response(pid, NOW - dt.timedelta(minutes=m)))[1] for m in (3, 2, 1)
    ]
    assert jobs.triage_outbox(boxes[0]) == "done"
    # The other two were waiting: the first job triaged them too, each with its own result.
    assert [jobs.triage_outbox(box) for box in boxes[1:]] == ["already-done", "already-done"]
    counts = rows.counts(pid)
    assert {k: counts[k] for k in ("results", "items", "open", "events")} == {
        "results": 3,
        "items": 1,
        "open": 1,
        "events": 1,
    }


def test_an_overdue_response_makes_one_yellow_item(service: Service) -> None:
    pid = rows.patient()
    with session_scope() as session:
        session.add(
            Enrolment(
                patient_id=pid,
                pathway_id="epilepsy",
                thresholds={},
                enrolled_at=dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.UTC),
            )
        )
    when = dt.datetime(2026, 7, 25, tzinfo=dt.UTC)  # due 10 July, overdue from 24 July
    assert periodic.mark_overdue(now=when) >= 1
    (item,) = rows.items_of(pid)
    assert (item.level, item.kind, item.status) == ("yellow", "overdue", "open")
    assert item.reasons[0]["text"] == "Skjema ikke besvart: forfalt 10.07.2026"
    periodic.mark_overdue(now=when + dt.timedelta(days=1))
    assert rows.counts(pid) == {"results": 0, "items": 1, "open": 1, "events": 1}
    with session_scope() as session:  # a clinician resolves it: it is not flagged again
        row = session.get(WorklistItem, item.id)
        assert row is not None
        row.status, row.open_key = "resolved", None
        session.add(row)
    periodic.mark_overdue(now=when + dt.timedelta(days=2))
    assert rows.counts(pid)["items"] == 1


def test_a_real_worker_triages_what_is_dispatched(worker: Service, tmp_path: Path) -> None:
    pid = rows.patient()
    rows.enrol(pid, "epilepsy")
    _, box = rows.store(pid, red_response(pid))
    assert dispatch([box]) == 1
    item = rows.wait_for(lambda: rows.items_of(pid), timeout=30, what="the worklist item")[0]
    assert (item.level, item.reasons[0]["rule"]) == ("red", "many-seizures")
    assert rows.outbox_row(box).dispatched_at is not None
    dispatch([box])  # delivered again: nothing changes
    rows.wait_for(lambda: rows.outbox_row(box).done_at, what="done")
    _, marker = rows.store(pid, rows.response(pid, rows.epilepsy_answers(0), NOW))
    dispatch([marker])  # the queue is worked in order: once this is done, so is the repeat
    rows.wait_for(lambda: rows.outbox_row(marker).done_at, timeout=30, what="the second row")
    assert rows.counts(pid) == {"results": 2, "items": 1, "open": 1, "events": 2}


def test_a_correction_sent_before_the_first_job_ran_is_judged_once(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An app posts a reading and corrects it at once: the first job already reads the
    corrected version, so the correction's own job adds no second result for it."""
    from usecases.ingest import correct as correct_module
    from usecases.ingest.correct import correct
    from usecases.ingest.prepare import Caller

    # This test runs both jobs itself, in a set order: the service's worker must not take
    # the correction's row first (it would hold it, and the first job would skip it).
    monkeypatch.setattr(correct_module, "dispatch_after_commit", lambda *_: None)

    pid = rows.patient()
    rows.enrol(pid, "heart-failure")
    first = weight(pid, 80.0, NOW - dt.timedelta(hours=1))
    first["identifier"] = [{"system": "urn:test:worker", "value": f"w-{pid}"}]
    (rid,), box = rows.store(pid, first)
    with session_scope() as session:
        row = session.get(Resource, rid)
        assert row is not None
        row.dedup_key = f"identifier=urn:test:worker|w-{pid}"
        session.add(row)
    corrected = {**first, "valueQuantity": {**first["valueQuantity"], "value": 81.5}}  # type: ignore[dict-item]
    done = correct(corrected, "Observation", Caller(patient_id=pid), resource_id=rid)
    assert done.version == 2
    assert jobs.triage_outbox(box) == "done"  # takes the correction's row along
    with session_scope() as session:
        resource = session.get(Resource, rid)
        assert resource is not None and resource.outbox_id is not None
        second = session.get(Outbox, resource.outbox_id)
        assert second is not None and second.done_at is not None
        # As if another job had held the correction's row (SKIP LOCKED) and ran it after.
        second.done_at = None
        session.add(second)
        second_id = resource.outbox_id
    assert jobs.triage_outbox(second_id) == "done"
    with session_scope() as session:
        results = session.exec(select(TriageResult).where(TriageResult.patient_id == pid)).all()
    assert [(r.resource_id, r.resource_version) for r in results] == [(rid, 2)]
