"""Reading form tasks over FHIR (docs/tasks.md) on both databases: the patient app's search
``GET /fhir/Task?patient=...&status=ready`` and ``GET /fhir/Task/{id}``; a patient sees
only their own tasks, staff granted the pathway see the patient's and each read is
audited; what is served is a valid FHIR R4 Task in a searchset Bundle."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.task import Task
from sqlmodel import col, select

from store.db import session_scope
from store.models import AuditEvent
from tests.conftest import Service
from tests.integration.api_rows import add_patient, headers, unique
from tests.integration.task_helpers import answer, enrolled, form_url, publish, search, tasks_of
from usecases.tasks import create_due_tasks

SDC = "http://hl7.org/fhir/uv/sdc/CodeSystem/temp"
JAN = dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC)
FEB = dt.datetime(2026, 2, 12, tzinfo=dt.UTC)


def _audits(patient: str) -> list[tuple[str, str | None]]:
    with session_scope() as session:
        rows = session.exec(
            select(AuditEvent.action, AuditEvent.target).where(
                col(AuditEvent.patient_id) == patient
            )
        ).all()
        return [(a, t) for a, t in rows]


def test_the_patient_app_reads_its_ready_task_as_fhir(service: Service, client: TestClient) -> None:
    pathway = unique("tasks")
    publish(client, pathway)
    patient = enrolled(client, pathway, JAN)
    create_due_tasks(FEB)
    query = {"patient": f"Patient/{patient}", "status": "ready"}
    found = search(client, query, role="patient", patient_id=patient)
    assert found.status_code == 200, found.text
    assert found.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(found.json())
    assert bundle.type == "searchset" and bundle.total == 1
    body = found.json()["entry"][0]["resource"]
    task = Task.model_validate(body)
    assert (task.status, task.intent) == ("ready", "order")
    assert body["code"]["coding"] == [{"system": SDC, "code": "complete-questionnaire"}]
    assert body["for"] == {"reference": f"Patient/{patient}"}
    assert body["focus"]["reference"] == form_url(pathway)  # no Questionnaire stored: no version
    assert body["input"][0]["valueCanonical"] == form_url(pathway)
    assert body["restriction"]["period"] == {
        "start": "2026-02-10T12:00:00+00:00",
        "end": "2026-02-17T12:00:00+00:00",
    }
    assert body["owner"]["reference"].startswith("Organization/")
    assert "output" not in body

    response = answer(client, pathway, patient, FEB)
    own = headers("patient", patient_id=patient)
    read = client.get(f"/fhir/Task/{body['id']}", headers=own)
    assert read.status_code == 200, read.text
    Task.model_validate(read.json())
    assert read.json()["status"] == "completed"
    assert read.json()["output"][0]["valueReference"] == {
        "reference": f"QuestionnaireResponse/{response}"
    }
    assert read.headers["etag"] == 'W/"2"'
    ready = search(client, {"status": "ready"}, role="patient", patient_id=patient)
    assert ready.json()["total"] == 0  # a patient's own tasks when no patient is named


def test_a_patient_may_not_read_another_patients_tasks(
    service: Service, client: TestClient
) -> None:
    pathway = unique("tasks")
    publish(client, pathway)
    patient = enrolled(client, pathway, JAN)
    create_due_tasks(FEB)
    [task] = tasks_of(patient)
    other = headers("patient", patient_id=add_patient())
    theirs = client.get("/fhir/Task", params={"patient": patient}, headers=other)
    assert theirs.status_code == 403
    refused = client.get(f"/fhir/Task/{task.id}", headers=other)
    missing = client.get("/fhir/Task/t-none", headers=other)
    assert refused.status_code == 403
    assert (missing.status_code, missing.json()) == (403, refused.json())  # nothing leaks


def test_staff_of_the_pathway_read_the_tasks_and_each_read_is_audited(
    service: Service, client: TestClient
) -> None:
    pathway = unique("tasks")
    publish(client, pathway)
    patient = enrolled(client, pathway, JAN)
    create_due_tasks(FEB)
    [task] = tasks_of(patient)
    found = search(client, {"patient": patient}, pathways=[pathway])
    assert found.status_code == 200 and found.json()["total"] == 1
    read = client.get(f"/fhir/Task/{task.id}", headers=headers(pathways=[pathway]))
    assert read.status_code == 200
    assert ("search", f"Task?patient={patient}") in _audits(patient)
    assert ("read", f"Task/{task.id}") in _audits(patient)

    elsewhere = headers(pathways=["copd"])
    assert search(client, {"patient": patient}, pathways=["copd"]).status_code == 403
    assert client.get(f"/fhir/Task/{task.id}", headers=elsewhere).status_code == 403
    assert client.get("/fhir/Task/t-none", headers=headers()).status_code == 404
    assert client.get("/fhir/Task", headers=headers()).status_code == 400  # whose tasks?
