"""Rows for worker tests, written straight into the database (not through the ingest API).

Readings are derived from the Observation the same way ingest does it (the FHIR adapter's
measurements), so the worker sees what it would see in production. Synthetic data only.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import func
from sqlmodel import select

from fhir_adapters import observation_measurements, parse_resource, response_questionnaire_url
from store.db import session_scope
from store.models import (
    Enrolment,
    Outbox,
    Patient,
    Reading,
    Resource,
    TriageResult,
    WorklistEvent,
    WorklistItem,
    new_id,
)

EPILEPSY_FORM = "http://example.no/fhir/Questionnaire/epilepsy-followup"
LOINC = "http://loinc.org"
OSLO = dt.timezone(dt.timedelta(hours=1))


def patient() -> str:
    pid = new_id("p")
    with session_scope() as session:
        session.add(Patient(id=pid, name="Test Testesen", resource={"resourceType": "Patient"}))
    return pid


def enrol(patient_id: str, pathway: str, thresholds: dict[str, Any] | None = None) -> None:
    with session_scope() as session:
        session.add(
            Enrolment(patient_id=patient_id, pathway_id=pathway, thresholds=thresholds or {})
        )


def epilepsy_answers(
    seizures: int, side_effects: str = "none", new_type: bool = False, contact: bool = False
) -> dict[str, Any]:
    return {
        "seizure-count": {"valueInteger": seizures},
        "new-seizure-type": {"valueBoolean": new_type},
        "side-effects": {"valueCoding": {"code": side_effects}},
        "wants-contact": {"valueBoolean": contact},
    }


def response(
    patient_id: str, answers: dict[str, Any], authored: dt.datetime, form: str = EPILEPSY_FORM
) -> dict[str, Any]:
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{form}|1",
        "status": "completed",
        "subject": {"reference": f"Patient/{patient_id}"},
        "authored": authored.isoformat(),
        "item": [{"linkId": link, "answer": [value]} for link, value in answers.items()],
    }


def observation(
    patient_id: str,
    code: str,
    value: float | None,
    unit: str,
    at: dt.datetime,
    status: str = "final",
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Observation",
        "status": status,
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": at.isoformat(),
    }
    if value is None:
        body["dataAbsentReason"] = {"coding": [{"code": "error"}]}
    else:
        body["valueQuantity"] = {
            "value": value,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        }
    return body


def store(patient_id: str, *bodies: dict[str, Any], outbox: bool = True) -> tuple[list[str], int]:
    """Store resources (and their readings) and one outbox row naming them, as ingest does."""
    ids: list[str] = []
    with session_scope() as session:
        for body in bodies:
            rid = new_id(body["resourceType"][:2].lower())
            parsed = parse_resource(body)
            row = Resource(
                id=rid,
                resource_type=body["resourceType"],
                patient_id=patient_id,
                dedup_key=uuid.uuid4().hex,
                body=body,
            )
            if body["resourceType"] == "QuestionnaireResponse":
                row.canonical_url = response_questionnaire_url(parsed)  # type: ignore[arg-type]
                row.data_time = dt.datetime.fromisoformat(body["authored"])
            else:
                data = observation_measurements(parsed)  # type: ignore[arg-type]
                row.data_time = dt.datetime.fromisoformat(body["effectiveDateTime"])
                session.add(row)
                session.flush()
                for m in data.measurements:
                    session.add(
                        Reading(
                            resource_id=rid,
                            patient_id=patient_id,
                            code=m.code,
                            panel=m.panel,
                            value=m.value,
                            unit=m.unit,
                            time=m.time,
                        )
                    )
            session.add(row)
            ids.append(rid)
        outbox_id = 0
        if outbox:
            box = Outbox(patient_id=patient_id, resource_ids=ids)
            session.add(box)
            session.flush()
            assert box.id is not None
            outbox_id = box.id
    return ids, outbox_id


def counts(patient_id: str) -> dict[str, int]:
    """How many results, items, open items and item events the patient has."""
    with session_scope() as session:
        item_ids = select(WorklistItem.id).where(WorklistItem.patient_id == patient_id)

        def n(query: Any) -> int:
            return int(session.exec(query).one())

        return {
            "results": n(
                select(func.count())
                .select_from(TriageResult)
                .where(TriageResult.patient_id == patient_id)
            ),
            "items": n(
                select(func.count())
                .select_from(WorklistItem)
                .where(WorklistItem.patient_id == patient_id)
            ),
            "open": n(
                select(func.count())
                .select_from(WorklistItem)
                .where(
                    WorklistItem.patient_id == patient_id,
                    WorklistItem.open_key != None,  # noqa: E711
                )
            ),
            "events": n(
                select(func.count())
                .select_from(WorklistEvent)
                .where(
                    WorklistEvent.item_id.in_(item_ids)  # type: ignore[attr-defined]
                )
            ),
        }


def items_of(patient_id: str) -> list[WorklistItem]:
    with session_scope() as session:
        query = select(WorklistItem).where(WorklistItem.patient_id == patient_id)
        return list(session.exec(query.order_by(WorklistItem.pathway_id, WorklistItem.created)))


def events_of(item_id: str) -> list[WorklistEvent]:
    with session_scope() as session:
        query = select(WorklistEvent).where(WorklistEvent.item_id == item_id)
        return list(session.exec(query.order_by(WorklistEvent.id)))  # type: ignore[arg-type]


def outbox_row(outbox_id: int) -> Outbox:
    with session_scope() as session:
        row = session.get(Outbox, outbox_id)
        assert row is not None
        return row


def wait_for(check: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"waited {timeout:.0f} s for {what or check}")
