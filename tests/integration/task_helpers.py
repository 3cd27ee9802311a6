"""Rows and calls for the form-task tests (test_form_tasks*.py): a pathway with a monthly
schedule published through the API, patients enrolled from a given time, responses posted
as the patient's app does and judged as the worker would. Synthetic data only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import col, select

from store.db import session_scope
from store.tasks import FormTask
from tests.integration.api_rows import add_patient, headers
from tests.integration.shadow_helpers import run_waiting
from tests.integration.stats_rows import SCHEDULED

YAML = {"Content-Type": "application/yaml"}


def form_url(pathway: str) -> str:
    return f"http://example.no/fhir/Questionnaire/{pathway}"


def publish(client: TestClient, pathway: str) -> None:
    """The pathway with a monthly schedule (P1M, overdue after P7D), through the API."""
    author = {**headers("author", pathways=[pathway], subject="author:kim"), **YAML}
    response = client.put(
        f"/api/pathways/{pathway}", content=SCHEDULED.format(id=pathway), headers=author
    )
    assert response.status_code in (200, 201), response.text


def enrolled(client: TestClient, pathway: str, at: dt.datetime) -> str:
    """A new patient enrolled in ``pathway`` from ``at``."""
    patient = add_patient()
    response = client.post(
        f"/api/patients/{patient}/enrolments",
        json={"pathway": pathway, "enrolled_at": at.isoformat()},
        headers=headers(pathways=[pathway]),
    )
    assert response.status_code == 201, response.text
    return patient


def answer(client: TestClient, pathway: str, patient: str, at: dt.datetime, pain: int = 1) -> str:
    """The app posts a response authored at ``at``; the worker judges it. Its id."""
    body = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": form_url(pathway),
        "status": "completed",
        "subject": {"reference": f"Patient/{patient}"},
        "authored": at.isoformat(),
        "item": [{"linkId": "pain", "answer": [{"valueInteger": pain}]}],
    }
    response = client.post(
        "/fhir/QuestionnaireResponse", json=body, headers=headers("patient", patient_id=patient)
    )
    assert response.status_code == 201, response.text
    run_waiting(patient)
    return str(response.json()["id"])


def tasks_of(patient: str) -> list[FormTask]:
    """The patient's tasks, the earliest due first."""
    with session_scope() as session:
        query = select(FormTask).where(col(FormTask.patient_id) == patient)
        return list(session.exec(query.order_by(col(FormTask.due))))


def states(patient: str) -> list[tuple[dt.datetime, str]]:
    return [(t.due, t.status) for t in tasks_of(patient)]


def search(client: TestClient, query: dict[str, str], **who: Any) -> Any:
    return client.get("/fhir/Task", params=query, headers=headers(**who))


def correct(client: TestClient, patient: str, response_id: str, **changes: Any) -> None:
    """The app corrects its stored response (a versioned PUT with ``changes``, e.g.
    ``status="entered-in-error"`` to withdraw it); the worker judges it again."""
    url = f"/fhir/QuestionnaireResponse/{response_id}"
    who = headers("patient", patient_id=patient)
    stored = client.get(url, headers=who)
    assert stored.status_code == 200, stored.text
    body = {k: v for k, v in stored.json().items() if k != "meta"} | changes
    put = client.put(url, json=body, headers=who)
    assert put.status_code == 200, put.text
    run_waiting(patient)
