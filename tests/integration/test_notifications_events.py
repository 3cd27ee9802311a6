"""Where notification events come from, and who reads them: "result ready" in the transaction
that stores a result with a patient message; reminders at the pathway's ``remind_after``
after a ready task fell due (tasks stood in for here: helper A's FormTask joins at
``usecases.notifications.ready_tasks``); ``GET /api/notifications`` for staff of the
patient's pathway, audited. Both databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from store.db import session_scope
from store.models import AuditEvent
from store.notifications import Notification
from tests.integration import replay_helpers as h
from tests.integration.api_rows import headers
from tests.integration.notify_helpers import new_patient_row, rows
from tests.integration.web_helpers import signed_in, visible_text
from usecases import notifications

DUE = dt.datetime(2026, 4, 1, 7, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class StandInTask:
    """A ready form task as helper A's table will hold it (test-only stand-in)."""

    id: str
    patient_id: str
    pathway_id: str
    due: dt.datetime


def reminders_at(task: StandInTask, now: dt.datetime) -> int:
    def tasks_of(_: Session, pathways: Sequence[str], before: dt.datetime) -> list[StandInTask]:
        assert "epilepsy" in pathways and before == now
        return [task] if task.due <= before else []

    return notifications.send_reminders(now, tasks_of=tasks_of)


def test_a_result_with_a_patient_message_is_a_result_ready_event(client: TestClient) -> None:
    pid, _ = h.new_patient(client, "epilepsy")
    response_id = h.seizures(client, pid, 0, dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    (event,) = rows(pid)
    assert (event.kind, event.resource_id, event.pathway_id) == (
        "result-ready",
        response_id,
        "epilepsy",
    )
    assert event.idempotency_key == f"result:{response_id}:1:epilepsy"
    assert event.status == "pending" and event.link is None


def _panel(pid: str, systolic: int, at: dt.datetime) -> dict[str, object]:
    def part(code: str, value: int) -> dict[str, object]:
        unit = {"unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}
        return {
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "valueQuantity": {"value": value, **unit},
        }

    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": at.isoformat(),
        "component": [part("8480-6", systolic), part("8462-4", 80)],
    }


def test_a_bundle_of_readings_is_one_event_for_the_reading_that_matters_most(
    client: TestClient,
) -> None:
    """A week of home blood pressures sent at once gives one "result ready" (an SMS
    gateway texts each event): for the severe reading (red), though a calmer one is newer."""
    pid, _ = h.new_patient(client, "hypertension-home-bp")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    systolics = [128, 131, 186, 126]  # the third is severe: red, with a message
    entries = [
        {
            "fullUrl": f"urn:uuid:00000000-0000-4000-8000-00000000000{n}",
            "resource": _panel(pid, value, now - dt.timedelta(hours=12 * (len(systolics) - n))),
            "request": {"method": "POST", "url": "Observation"},
        }
        for n, value in enumerate(systolics)
    ]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    answer = client.post("/fhir", json=bundle, headers=h.bearer("patient", pid))
    assert answer.status_code == 200, answer.text
    ids = [e["response"]["location"].split("/")[1] for e in answer.json()["entry"]]
    h.judge_pending()
    (event,) = rows(pid)
    assert (event.kind, event.resource_id) == ("result-ready", ids[2])


def test_reminders_go_out_at_remind_after_once_each(client: TestClient) -> None:
    pid = new_patient_row()
    task = StandInTask(f"t-{pid}", pid, "epilepsy", DUE)
    assert reminders_at(task, DUE + dt.timedelta(days=2, hours=23)) == 0
    assert reminders_at(task, DUE + dt.timedelta(days=3)) == 1
    assert reminders_at(task, DUE + dt.timedelta(days=5)) == 0  # the same run again
    assert reminders_at(task, DUE + dt.timedelta(days=7)) == 1
    assert reminders_at(task, DUE + dt.timedelta(days=20)) == 0
    assert [(r.kind, r.idempotency_key, r.task_id) for r in rows(pid)] == [
        ("reminder", f"task:{task.id}:reminder:1", task.id),
        ("reminder", f"task:{task.id}:reminder:2", task.id),
    ]
    assert [r.created for r in rows(pid)] == [
        DUE + dt.timedelta(days=3),
        DUE + dt.timedelta(days=7),
    ]


def test_a_scheduler_back_after_both_reminder_times_sends_only_the_latest(
    client: TestClient,
) -> None:
    pid = new_patient_row()
    task = StandInTask(f"t-{pid}", pid, "epilepsy", DUE)
    assert reminders_at(task, DUE + dt.timedelta(days=9)) == 1
    assert [r.idempotency_key for r in rows(pid)] == [f"task:{task.id}:reminder:2"]


def test_without_form_tasks_nothing_is_reminded(client: TestClient) -> None:
    assert notifications.send_reminders(DUE + dt.timedelta(days=3)) == 0


def test_staff_of_the_pathway_read_events_by_status_and_the_read_is_audited(
    client: TestClient,
) -> None:
    pid = new_patient_row()
    with session_scope() as session:
        notifications.enqueue(
            session,
            "task-ready",
            pid,
            pathway_id="epilepsy",
            task_id=f"t-{pid}",
            key=f"task:t-{pid}:ready",
        )
    granted = headers("clinician", pathways=["epilepsy"], subject="clinician:notify")
    answer = client.get("/api/notifications?status=pending", headers=granted)
    assert answer.status_code == 200, answer.text
    shown = [n for n in answer.json()["notifications"] if n["patient"] == pid]
    assert [(n["kind"], n["status"], n["attempts"], n["task"]) for n in shown] == [
        ("task-ready", "pending", 0, f"t-{pid}")
    ]
    with session_scope() as session:
        audited = session.exec(
            select(AuditEvent).where(
                col(AuditEvent.patient_id) == pid, col(AuditEvent.actor) == "clinician:notify"
            )
        ).all()
    assert [a.action for a in audited] == ["notifications.read"]
    elsewhere = headers("clinician", pathways=["copd"])
    others = client.get("/api/notifications", headers=elsewhere).json()["notifications"]
    assert all(n["pathway"] == "copd" for n in others)
    failed = client.get("/api/notifications?status=failed", headers=granted).json()
    assert all(n["status"] == "failed" for n in failed["notifications"])
    assert pid not in {n["patient"] for n in failed["notifications"]}
    assert client.get("/api/notifications?status=lost", headers=granted).status_code == 422
    patient = headers("patient", patient_id=pid)
    assert client.get("/api/notifications", headers=patient).status_code == 403
    assert client.get("/api/notifications").status_code == 401


def test_the_staff_page_lists_a_failed_event_with_its_attempts_and_error(
    client: TestClient,
) -> None:
    pid = new_patient_row()
    with session_scope() as session:
        made = notifications.enqueue(
            session, "reminder", pid, pathway_id="epilepsy", key=f"task:t-{pid}:reminder:1"
        )
        assert made is not None
        row = session.get(Notification, made.id)
        assert row is not None
        row.status, row.attempts, row.last_error, row.next_attempt_at = (
            "failed",
            31,
            "HTTP 503",
            None,
        )
    signed_in(client, pathways=["epilepsy"])
    page = client.get("/app/notifications?status=failed")
    assert page.status_code == 200, page.text
    text = visible_text(page.text)
    assert f"Påminnelse{pid}Feilet31–HTTP 503" in text, text
    english = visible_text(client.get("/app/notifications?status=failed&lang=en").text)
    assert f"Reminder{pid}Failed31–HTTP 503" in english
    signed_in(client, pathways=["copd"])
    assert pid not in client.get("/app/notifications?status=failed").text
