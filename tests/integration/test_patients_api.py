"""Patients over HTTP on both databases: record, triage history, enrolment with the patient's
own thresholds, the patient's own result, and what triage missed (unrouted, failed)."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from store.db import session_scope
from store.models import (
    AuditEvent,
    Enrolment,
    Outbox,
    Resource,
    WorklistItem,
    new_id,
    utcnow,
)
from tests.documented import assert_documented
from tests.integration.api_rows import (
    NOW,
    add_item,
    add_patient,
    add_result,
    headers,
    pathway_text,
    unique,
)
from usecases import periodic
from usecases.publishing import publish


def audits(patient_id: str, action: str) -> list[AuditEvent]:
    with session_scope() as session:
        query = select(AuditEvent).where(
            AuditEvent.patient_id == patient_id, AuditEvent.action == action
        )
        return list(session.exec(query))


def test_triage_history_is_newest_first_with_ruleset_and_only_granted_pathways(
    client: TestClient,
) -> None:
    patient, mine, theirs = add_patient(), unique("pw"), unique("pw")
    old = add_result(patient, mine, "green", created=NOW - dt.timedelta(days=30), version=1)
    new = add_result(patient, mine, "red", created=NOW, version=2)
    add_result(patient, theirs, "yellow", created=NOW - dt.timedelta(days=1))
    reader = headers(pathways=[mine], subject="clinician:hist")
    response = client.get(f"/api/patients/{patient}/triage", headers=reader)
    assert response.status_code == 200, response.text
    assert_documented("GET", "/api/patients/{patient_id}/triage", response)
    results = response.json()["results"]
    assert [r["id"] for r in results] == [new, old]
    assert results[0]["ruleset"] == {"pathway": mine, "version": 2, "sha256": "cd" * 32}
    assert results[1]["ruleset"]["version"] == 1  # an earlier result keeps its version
    assert results[0]["reasons"] == [{"rule": "r1", "level": "red", "text": "grunn red"}]
    [event] = audits(patient, "triage.read")
    assert (event.actor, event.detail["results"]) == ("clinician:hist", [new, old])


def test_patient_record_for_granted_staff_is_audited(client: TestClient) -> None:
    patient, pathway = add_patient("Ola Testmann"), unique("pw")
    add_item(patient, pathway, "yellow")
    response = client.get(f"/api/patients/{patient}", headers=headers(pathways=[pathway]))
    assert response.status_code == 200, response.text
    assert_documented("GET", "/api/patients/{patient_id}", response)
    assert response.json()["name"] == "Ola Testmann"
    assert len(audits(patient, "patient.read")) == 1
    assert (
        client.get(f"/api/patients/{patient}", headers=headers(pathways=["x"])).status_code == 403
    )
    assert client.get("/api/patients/p-unknown", headers=headers()).status_code == 404


def test_enrolment_with_own_thresholds_then_updated_in_place(client: TestClient) -> None:
    patient = add_patient()
    staff = headers(pathways=["epilepsy"], subject="clinician:enroller")
    url = f"/api/patients/{patient}/enrolments"
    first = client.post(
        url, json={"pathway": "epilepsy", "thresholds": {"seizures_red": 2}}, headers=staff
    )
    assert first.status_code == 201, first.text
    assert first.json()["thresholds"] == {"seizures_red": 2}
    again = client.post(
        url, json={"pathway": "epilepsy", "thresholds": {"seizures_red": 5}}, headers=staff
    )
    assert again.status_code == 200, again.text
    with session_scope() as session:
        rows = session.exec(select(Enrolment).where(Enrolment.patient_id == patient)).all()
        assert [(r.pathway_id, r.thresholds, r.enrolled_by) for r in rows] == [
            ("epilepsy", {"seizures_red": 5}, "clinician:enroller")
        ]
    listed = client.get(url, headers=staff).json()["enrolments"]
    assert [(e["pathway"], e["thresholds"]) for e in listed] == [("epilepsy", {"seizures_red": 5})]


def test_the_day_the_follow_up_began_is_kept_and_the_schedule_counts_from_it(
    client: TestClient,
) -> None:
    """A patient moved from fixed check-ups: enrolled 200 days ago, no questionnaire since.
    Epilepsy asks every 6 months and flags 14 days after: overdue now, also after the
    thresholds are tuned (tuning does not restart the schedule)."""
    patient = add_patient()
    url = f"/api/patients/{patient}/enrolments"
    began = (utcnow() - dt.timedelta(days=200)).replace(microsecond=0)
    first = client.post(
        url, json={"pathway": "epilepsy", "enrolled_at": began.isoformat()}, headers=headers()
    )
    assert first.status_code == 201, first.text
    assert dt.datetime.fromisoformat(first.json()["enrolled_at"]) == began
    tuned = client.post(
        url, json={"pathway": "epilepsy", "thresholds": {"seizures_red": 2}}, headers=headers()
    )
    assert tuned.status_code == 200, tuned.text
    assert dt.datetime.fromisoformat(tuned.json()["enrolled_at"]) == began

    periodic.mark_overdue()
    with session_scope() as session:
        items = session.exec(select(WorklistItem).where(WorklistItem.patient_id == patient)).all()
        assert [(i.level, i.kind, i.pathway_id) for i in items] == [
            ("yellow", "overdue", "epilepsy")
        ]

    moved = client.post(
        url, json={"pathway": "epilepsy", "enrolled_at": utcnow().isoformat()}, headers=headers()
    )
    assert moved.status_code == 200, moved.text
    assert dt.datetime.fromisoformat(moved.json()["enrolled_at"]) > began


def test_an_ended_follow_up_is_not_flagged_overdue_and_can_start_again(
    client: TestClient,
) -> None:
    patient = add_patient()
    url = f"/api/patients/{patient}/enrolments"
    began = (utcnow() - dt.timedelta(days=200)).replace(microsecond=0)
    body = {"pathway": "epilepsy", "thresholds": {"seizures_red": 2}}
    client.post(url, json={**body, "enrolled_at": began.isoformat()}, headers=headers())

    refused = client.delete(f"{url}/epilepsy", headers=headers(pathways=["copd"]))
    assert refused.status_code == 403, refused.text
    ended = client.delete(f"{url}/epilepsy", headers=headers(subject="clinician:ender"))
    assert ended.status_code == 200, ended.text
    assert_documented("DELETE", "/api/patients/{patient_id}/enrolments/{pathway_id}", ended)
    assert (ended.json()["active"], ended.json()["thresholds"]) == (False, {"seizures_red": 2})
    assert client.delete(f"{url}/epilepsy", headers=headers()).status_code == 409
    assert client.delete(f"{url}/copd", headers=headers()).status_code == 404
    assert [(a.actor, a.target) for a in audits(patient, "enrolment.end")] == [
        ("clinician:ender", "epilepsy")
    ]

    periodic.mark_overdue()  # 200 days without a form, but no longer followed up
    with session_scope() as session:
        items = session.exec(select(WorklistItem).where(WorklistItem.patient_id == patient)).all()
        assert items == []

    again = client.post(url, json=body, headers=headers())
    assert again.status_code == 200, again.text
    assert again.json()["active"] is True
    assert dt.datetime.fromisoformat(again.json()["enrolled_at"]) > began, "a new follow-up"


def test_parallel_enrolments_store_one_row(client: TestClient) -> None:
    patient = add_patient()
    url = f"/api/patients/{patient}/enrolments"
    body = {"pathway": "epilepsy", "thresholds": {"seizures_red": 4}}
    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(
            pool.map(
                lambda _: client.post(url, json=body, headers=headers()).status_code, range(10)
            )
        )
    assert sorted(statuses) == [200] * 9 + [201]
    with session_scope() as session:
        rows = session.exec(select(Enrolment).where(Enrolment.patient_id == patient)).all()
        assert len(rows) == 1


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ({"thresholds": {"seizures_red": 31}}, "outside 1..30"),
        ({"thresholds": {"seizures_red": 0}}, "outside 1..30"),
        ({"thresholds": {"seizures_blue": 2}}, "not a threshold"),
        ({"thresholds": {"seizures_red": "2"}}, "must be a number"),
        ({"enrolled_at": "2099-01-01T00:00:00+01:00"}, "in the future"),
        ({"enrolled_at": "1850-01-01T00:00:00+00:00"}, "before 1900"),
        ({"enrolled_at": "2026-01-01T00:00:00"}, "timezone"),
        ({"enrolled_at": "last spring"}, "datetime"),
    ],
)
def test_an_enrolment_that_cannot_be_right_is_refused_and_stores_nothing(
    client: TestClient, given: dict, words: str
) -> None:
    patient = add_patient()
    response = client.post(
        f"/api/patients/{patient}/enrolments",
        json={"pathway": "epilepsy", **given},
        headers=headers(),
    )
    assert response.status_code == 422, response.text
    assert words in response.text
    with session_scope() as session:
        assert session.exec(select(Enrolment).where(Enrolment.patient_id == patient)).all() == []


def test_enrolment_refuses_a_fixed_threshold_and_an_unknown_pathway(client: TestClient) -> None:
    pathway = unique("t")
    with session_scope() as session:
        publish(session, pathway_text(pathway), by="test")
    patient = add_patient()
    url = f"/api/patients/{patient}/enrolments"
    fixed = client.post(
        url, json={"pathway": pathway, "thresholds": {"pain_fixed": 8}}, headers=headers()
    )
    assert fixed.status_code == 422
    assert "cannot be set per patient" in fixed.json()["error"]
    tuned = client.post(
        url, json={"pathway": pathway, "thresholds": {"pain_red": 5}}, headers=headers()
    )
    assert tuned.status_code == 201, tuned.text
    unknown = client.post(url, json={"pathway": "no-such-pathway"}, headers=headers())
    assert unknown.status_code == 404
    nobody = client.post(
        "/api/patients/p-none/enrolments", json={"pathway": pathway}, headers=headers()
    )
    assert nobody.status_code == 404


def _submission(patient: str) -> tuple[str, int]:
    resource_id = new_id("qr")
    with session_scope() as session:
        outbox = Outbox(patient_id=patient, resource_ids=[resource_id])
        session.add(outbox)
        session.flush()
        assert outbox.id is not None
        session.add(
            Resource(
                id=resource_id,
                resource_type="QuestionnaireResponse",
                patient_id=patient,
                body={"resourceType": "QuestionnaireResponse", "id": resource_id},
                outbox_id=outbox.id,
            )
        )
        return resource_id, outbox.id


def test_the_patient_reads_pending_then_the_result_and_message(client: TestClient) -> None:
    patient, pathway = add_patient(), unique("pw")
    resource_id, outbox_id = _submission(patient)
    url = f"/api/submissions/QuestionnaireResponse/{resource_id}/result"
    own = headers("patient", patient_id=patient)
    pending = client.get(url, headers=own)
    assert (pending.status_code, pending.json()) == (202, {"status": "pending"})
    route = "/api/submissions/{resource_type}/{resource_id}/result"
    assert_documented("GET", route, pending)

    add_result(patient, pathway, "red", outbox_id=outbox_id, version=3, resource_id=resource_id)
    with session_scope() as session:
        outbox = session.get(Outbox, outbox_id)
        assert outbox is not None
        outbox.done_at = utcnow()
        session.add(outbox)
    done = client.get(url, headers=own)
    assert done.status_code == 200, done.text
    assert_documented("GET", route, done)
    assert done.json() == {
        "status": "done",
        "results": [
            {"pathway": pathway, "level": "red", "patient_message": "melding red", "version": 3}
        ],
    }
    assert client.get(url, headers=headers()).status_code == 200  # staff may read it too
    assert len(audits(patient, "submission.read")) == 1
    wrong_type = f"/api/submissions/Observation/{resource_id}/result"
    assert client.get(wrong_type, headers=own).status_code == 403


def test_unrouted_and_failed_uploads_are_shown_to_staff(client: TestClient) -> None:
    patient = add_patient()
    resource_id, outbox_id = _submission(patient)
    with session_scope() as session:
        resource = session.get(Resource, resource_id)
        outbox = session.get(Outbox, outbox_id)
        assert resource is not None and outbox is not None
        resource.routed = False
        outbox.failed, outbox.attempts, outbox.last_error = True, 5, "OperationalError"
        session.add_all([resource, outbox])
    answer = client.get("/api/unrouted", headers=headers())
    assert_documented("GET", "/api/unrouted", answer)
    body = answer.json()
    assert resource_id in [r["id"] for r in body["unrouted"]]
    failed = [f for f in body["failed"] if f["outbox"] == outbox_id]
    assert failed == [
        {
            "outbox": outbox_id,
            "patient": patient,
            "resources": [resource_id],
            "attempts": 5,
            "error": "OperationalError",
            "created": failed[0]["created"],
        }
    ]
    assert len(audits(patient, "unrouted.read")) == 1
