"""What the web page tests (test_web_pages_*.py, test_web_charts.py) share: a clinician's
token and signing in with it, a patient's full national identity number, a patient with
answers and glucose readings in the database, and reading a page as a person does."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlmodel import col, select

from api.auth import create_token
from runtime.settings import get_settings
from store.db import session_scope
from store.models import Enrolment, Patient, Reading, Resource, new_id
from tests.integration.api_rows import add_patient, add_result, unique

EPILEPSY_FORM = "http://example.no/fhir/Questionnaire/epilepsy-followup"
GLUCOSE = "http://loinc.org|15074-8"
OSLO_CLOCK = ZoneInfo("Europe/Oslo")


def token(pathways: list[str] | None = None, role: str = "clinician", **kw: str) -> str:
    if pathways is None and role != "patient":
        pathways = ["*"]
    return create_token(get_settings(), role=role, pathways=pathways, **kw)  # type: ignore[arg-type]


def signed_in(client: TestClient, pathways: list[str] | None = None, subject: str = "") -> None:
    subject = subject or f"clinician:{unique('nurse')}"
    response = client.post(
        "/app/login", data={"token": token(pathways, subject=subject)}, follow_redirects=False
    )
    assert response.status_code == 303, response.text


def national_id(patient_id: str) -> str:
    with session_scope() as session:
        patient = session.get(Patient, patient_id)
        assert patient is not None and patient.identifier_value
        return patient.identifier_value


def patient_with_answers_and_glucose() -> str:
    patient_id = add_patient("Ola Syntetisk")
    now = dt.datetime.now(dt.UTC)
    questionnaire = {
        "resourceType": "Questionnaire",
        "url": EPILEPSY_FORM,
        "status": "active",
        "item": [
            {"linkId": "seizure-count", "text": "Hvor mange anfall siden sist?", "type": "integer"}
        ],
    }
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": EPILEPSY_FORM,
        "subject": {"reference": f"Patient/{patient_id}"},
        "authored": now.isoformat(),
        "item": [{"linkId": "seizure-count", "answer": [{"valueInteger": 5}]}],
    }
    observation_id = new_id("obs")
    with session_scope() as session:
        if (
            session.exec(
                select(Resource).where(col(Resource.canonical_url) == EPILEPSY_FORM)
            ).first()
            is None
        ):
            session.add(
                Resource(
                    id=new_id("q"),
                    resource_type="Questionnaire",
                    canonical_url=EPILEPSY_FORM,
                    body=questionnaire,
                )
            )
        session.add(
            Resource(
                id=new_id("qr"),
                resource_type="QuestionnaireResponse",
                patient_id=patient_id,
                canonical_url=EPILEPSY_FORM,
                body=response,
                data_time=now,
            )
        )
        session.add(
            Resource(
                id=observation_id,
                resource_type="Observation",
                patient_id=patient_id,
                body={"resourceType": "Observation"},
                data_time=now,
            )
        )
        session.add(Enrolment(patient_id=patient_id, pathway_id="diabetes-cgm", thresholds={}))
        session.add(Enrolment(patient_id=patient_id, pathway_id="epilepsy", thresholds={}))
        session.flush()
        for i, value in enumerate([2.8, 5.5, 7.0, 12.0]):
            session.add(
                Reading(
                    resource_id=observation_id,
                    patient_id=patient_id,
                    code=GLUCOSE,
                    value=value,
                    unit="mmol/L",
                    time=now - dt.timedelta(hours=4 - i),
                )
            )
    add_result(patient_id, "epilepsy", "red", created=now)
    return patient_id


def visible_text(html: str) -> str:
    """What a person reads: tags out, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))
