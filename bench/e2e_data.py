"""What bench/e2e.py sends: synthetic patients enrolled through the API, and the uploads
of the sweep (weights, SpO2, blood-pressure panels, CAT responses) and of the bursts (CGM
Bundles), each body with an identifier of its own. Synthetic data only."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
from ingest import fnr, weight
from openloop import Request

UCUM = "http://unitsofmeasure.org"
COPD_CAT = "http://example.no/fhir/Questionnaire/copd-cat"
HEART, COPD, CGM = "heart-failure", "copd", "diabetes-cgm"


def _observation(patient: str, code: str, at: dt.datetime, **value: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "identifier": [{"system": "urn:bench:e2e", "value": uuid.uuid4().hex}],
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": at.isoformat(),
        **value,
    }


def spo2(patient: str, percent: float, at: dt.datetime) -> dict[str, Any]:
    quantity = {"value": percent, "unit": "%", "system": UCUM, "code": "%"}
    return _observation(patient, "59408-5", at, valueQuantity=quantity)


def blood_pressure(patient: str, systolic: int, diastolic: int, at: dt.datetime) -> dict[str, Any]:
    def part(code: str, value: int) -> dict[str, Any]:
        quantity = {"value": value, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}
        return {
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "valueQuantity": quantity,
        }

    parts = [part("8480-6", systolic), part("8462-4", diastolic)]
    return _observation(patient, "85354-9", at, component=parts)


def glucose(patient: str, mmol: float, at: dt.datetime) -> dict[str, Any]:
    quantity = {"value": mmol, "unit": "mmol/L", "system": UCUM, "code": "mmol/L"}
    return _observation(patient, "15074-8", at, valueQuantity=quantity)


def cat_response(patient: str, n: int, at: dt.datetime) -> dict[str, Any]:
    items: list[dict[str, Any]] = [
        {"linkId": f"cat-{k}", "answer": [{"valueInteger": (n + k) % 3}]} for k in range(1, 9)
    ]
    items += [
        {"linkId": "rescue-pack", "answer": [{"valueBoolean": False}]},
        {"linkId": "wants-contact", "answer": [{"valueBoolean": n % 50 == 0}]},
    ]
    return {
        "resourceType": "QuestionnaireResponse",
        "identifier": {"system": "urn:bench:e2e", "value": uuid.uuid4().hex},
        "questionnaire": COPD_CAT,
        "status": "completed",
        "subject": {"reference": f"Patient/{patient}"},
        "authored": at.isoformat(),
        "item": items,
    }


def bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": r,
                "request": {"method": "POST", "url": r["resourceType"]},
            }
            for r in resources
        ],
    }


def cgm_day(patient: str, end: dt.datetime, count: int, every: dt.timedelta) -> dict[str, Any]:
    """A Bundle of ``count`` glucose readings ending at ``end``: a phone that was offline."""
    return bundle(
        [
            glucose(patient, round(6.5 + ((k * 37) % 40) / 10, 1), end - (count - 1 - k) * every)
            for k in range(count)
        ]
    )


def mixed_uploads(heart: list[str], copd: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The sweep's uploads, endless, built at the moment each is sent (its time is now):
    heart-failure patients send weights (50 %), blood pressure (30 %) and SpO2 (20 %);
    COPD patients SpO2 (75 %) and a CAT response (25 %). With 60 % heart-failure
    patients that is 10 % questionnaire responses in all."""
    patients = [(p, HEART) for p in heart] + [(p, COPD) for p in copd]
    for n in itertools.count():
        patient, pathway = patients[(n * 7) % len(patients)]
        now = dt.datetime.now(dt.UTC)
        k = (n // len(patients)) % 20
        if pathway == HEART:
            if k < 10:
                yield "/fhir/Observation", weight(patient, 80 + (n % 7) / 10, now)
            elif k < 16:
                yield "/fhir/Observation", blood_pressure(patient, 118 + n % 30, 76, now)
            else:
                yield "/fhir/Observation", spo2(patient, 95 + n % 4, now)
        elif k < 15:
            yield "/fhir/Observation", spo2(patient, 93 + n % 6, now)
        else:
            yield "/fhir/QuestionnaireResponse", cat_response(patient, n, now)


def requests(uploads: Iterator[tuple[str, dict[str, Any]]], count: int) -> Iterator[Request]:
    for path, body in itertools.islice(uploads, count):
        yield Request(path, json.dumps(body).encode())


async def enrolled_patients(
    client: httpx.AsyncClient, first: int, count: int, pathway: str, concurrency: int = 8
) -> list[str]:
    """``count`` new patients (national ids from ``first``), enrolled in ``pathway`` from
    30 days ago."""
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=30)).isoformat()
    out: list[str] = [""] * count
    numbers = iter(range(count))

    async def loop() -> None:
        for i in numbers:
            body = {
                "resourceType": "Patient",
                "identifier": [
                    {"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": fnr(first + i)}
                ],
                "name": [{"family": f"Ende{first + i}", "given": ["Test"]}],
            }
            made = await client.post("/fhir/Patient", json=body)
            made.raise_for_status()
            pid = made.json()["id"]
            enrol = {"pathway": pathway, "enrolled_at": since}
            answer = await client.post(f"/api/patients/{pid}/enrolments", json=enrol)
            answer.raise_for_status()
            out[i] = pid

    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return out


def ids_of(answer: Any) -> list[str]:
    """The resource ids an accepted POST names: the resource's, or each Bundle entry's."""
    if isinstance(answer, dict) and answer.get("resourceType") == "Bundle":
        return [e["response"]["location"].split("/")[1] for e in answer.get("entry", [])]
    return [answer["id"]] if isinstance(answer, dict) and "id" in answer else []
