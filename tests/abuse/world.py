"""A little seeded data for the abuse tests, made through the API itself where it can be:
two enrolled patients, a questionnaire, a patient's answers and reading, worklist items and a
finished triage result; and a token for each kind of caller. Synthetic data only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import SQLModel, select

from api.auth import Role, create_token
from runtime.settings import get_settings
from store.db import session_scope
from store.models import (
    AuditEvent,
    Enrolment,
    Outbox,
    PathwayVersion,
    Patient,
    Reading,
    Resource,
    TriageResult,
    WorkerHeartbeat,
    WorklistEvent,
    WorklistItem,
    new_id,
    utcnow,
)
from store.tasks import FormTask
from tests.integration.api_rows import add_item, add_result, unique
from tests.integration.fhir_helpers import fnr_patient, new_fnr, sample

PATHWAY = "epilepsy"  # reads the contract's questionnaire
OTHER_PATHWAY = "heart-failure"
ELSEWHERE = "copd"  # granted to a clinician who sees neither patient
MISSING_PATIENT = "p-does-not-exist"
QUESTIONNAIRE_SAMPLE = "Questionnaire-epilepsy-followup.json"
RESPONSE_SAMPLE = "QuestionnaireResponse-epilepsy-red.json"
READING_SAMPLE = "Observation-blood-pressure.json"

# Every table: a refused request must leave each of them as it was.
TABLES: tuple[type[SQLModel], ...] = (
    Patient,
    Resource,
    Reading,
    Outbox,
    Enrolment,
    PathwayVersion,
    TriageResult,
    WorklistItem,
    WorklistEvent,
    AuditEvent,
    WorkerHeartbeat,
    FormTask,
)


def token(role: Role, patient_id: str | None = None, pathways: list[str] | None = None) -> str:
    return create_token(get_settings(), role=role, patient_id=patient_id, pathways=pathways)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


@dataclass(frozen=True)
class World:
    patient: str  # in PATHWAY: answers, a reading, an open item, a finished result
    other: str  # in OTHER_PATHWAY only
    identifier: str  # the patient's SYSTEM|VALUE
    questionnaire: str
    response: str  # the patient's QuestionnaireResponse, triaged
    response_identifier: str  # its identifier, SYSTEM|VALUE
    observation: str  # the patient's Observation
    item: str  # the patient's open item in PATHWAY
    other_item: str  # the other patient's open item in OTHER_PATHWAY
    tokens: dict[str, str] = field(repr=False)  # caller name -> token
    task: str = ""  # the patient's ready form task in PATHWAY

    def headers(self, caller: str) -> dict[str, str]:
        return bearer(self.tokens[caller]) if caller in self.tokens else {}


def _created(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def seed(client: TestClient) -> World:
    """Seed through ``client`` (an app on the active test service)."""
    author = bearer(token("author", pathways=["*"]))
    _created(client.post("/fhir/Questionnaire", json=sample(QUESTIONNAIRE_SAMPLE), headers=author))
    questionnaire = client.get("/fhir/Questionnaire", headers=author).json()["entry"][0]
    patients = []
    for pathway in (PATHWAY, OTHER_PATHWAY):
        stored = _created(client.post("/fhir/Patient", json=fnr_patient(new_fnr()), headers=author))
        enrolled = client.post(
            f"/api/patients/{stored['id']}/enrolments", json={"pathway": pathway}, headers=author
        )
        _created(enrolled)
        patients.append(stored)
    patient, other = (str(p["id"]) for p in patients)
    own = bearer(token("patient", patient_id=patient))
    answers = sample(RESPONSE_SAMPLE, patient)
    answers["identifier"] = {"system": "urn:test:abuse", "value": unique("sub")}
    response = _created(client.post("/fhir/QuestionnaireResponse", json=answers, headers=own))
    reading = _created(
        client.post("/fhir/Observation", json=sample(READING_SAMPLE, patient), headers=own)
    )
    with session_scope() as session:
        row = session.get(Resource, response["id"])
        assert row is not None and row.outbox_id is not None
        outbox = session.get(Outbox, row.outbox_id)
        assert outbox is not None
        outbox.done_at = utcnow()  # as if a worker had triaged it: the result can be read
        session.add(outbox)
        outbox_id = outbox.id
    add_result(patient, PATHWAY, "red", outbox_id=outbox_id)
    identifier = patients[0]["identifier"][0]
    tokens = {
        "patient": token("patient", patient_id=patient),
        "other_patient": token("patient", patient_id=other),
        "clinician": token("clinician", pathways=[PATHWAY]),
        "clinician_all": token("clinician", pathways=["*"]),
        "clinician_elsewhere": token("clinician", pathways=[ELSEWHERE]),
        "author": token("author", pathways=["*"]),
    }
    return World(
        patient=patient,
        other=other,
        identifier=f"{identifier['system']}|{identifier['value']}",
        questionnaire=str(questionnaire["resource"]["id"]),
        response=str(response["id"]),
        response_identifier=f"urn:test:abuse|{answers['identifier']['value']}",
        observation=str(reading["id"]),
        item=add_item(patient, PATHWAY, "red"),
        other_item=add_item(other, OTHER_PATHWAY, "yellow"),
        task=_task(patient),
        tokens=tokens,
    )


def _task(patient: str) -> str:
    """A ready form task of the patient's questionnaire in PATHWAY, due now."""
    task = FormTask(
        id=new_id("t"),
        patient_id=patient,
        pathway_id=PATHWAY,
        due=utcnow(),
        questionnaire_url="http://example.no/fhir/Questionnaire/epilepsy-followup",
    )
    with session_scope() as session:
        session.add(task)
    return task.id


def row_counts() -> dict[str, int]:
    with session_scope() as session:
        return {
            model.__name__: session.exec(select(func.count()).select_from(model)).one()
            for model in TABLES
        }


def audit_count(patient_id: str) -> int:
    with session_scope() as session:
        query = select(func.count()).select_from(AuditEvent)
        return session.exec(query.where(AuditEvent.patient_id == patient_id)).one()
