"""Patients' apps over real HTTP: one token per patient, every resource with an identifier,
and the same body sent again on 429, 5xx and connection errors (safe: the API stores an
identifier once). A ledger records what the API accepted (2xx) and refused (4xx)."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from api.auth import create_token
from runtime.settings import get_settings
from tests.integration.fhir_helpers import fnr_patient, new_fnr

EPILEPSY_FORM = "http://example.no/fhir/Questionnaire/epilepsy-followup"
IDENT_SYSTEM = "urn:test:faults"
LOINC = "http://loinc.org"
SPO2 = "59408-5"
WEIGHT = "29463-7"
POST_DEADLINE = 90.0  # one resource is retried this long at most
RETRIED = (429, 500, 502, 503, 504)


@dataclass(frozen=True)
class Accepted:
    patient_id: str
    rtype: str
    identifier: str
    resource_id: str
    body: dict[str, Any]


@dataclass
class Ledger:
    """What the API accepted and refused, from many threads."""

    accepted: dict[str, Accepted] = field(default_factory=dict)
    refused: list[tuple[str, int, str]] = field(default_factory=list)
    retries: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accept(self, item: Accepted) -> None:
        with self.lock:
            known = self.accepted.setdefault(item.identifier, item)
        # The API answers the stored id for an identifier it has, every time.
        assert known.resource_id == item.resource_id, (known, item)

    def refuse(self, identifier: str, status: int, text: str) -> None:
        with self.lock:
            self.refused.append((identifier, status, text))

    def retried(self, why: str) -> None:
        with self.lock:
            self.retries[why] += 1

    def of(self, patient_id: str) -> list[Accepted]:
        return [a for a in self.accepted.values() if a.patient_id == patient_id]


def staff_headers(role: str = "clinician") -> dict[str, str]:
    token = create_token(get_settings(), role=role, pathways=["*"])  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {token}"}


def send(
    client: httpx.Client,
    method: str,
    url: str,
    ledger: Ledger | None = None,
    deadline: float = POST_DEADLINE,
    **kwargs: Any,
) -> httpx.Response:
    """Send until the API answers something other than 429/5xx, as a patient's app would."""
    end = time.monotonic() + deadline
    pause = 0.1
    last = "nothing"
    while time.monotonic() < end:
        try:
            response = client.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            last = type(exc).__name__
        else:
            if response.status_code not in RETRIED:
                return response
            last = str(response.status_code)
            after = response.headers.get("Retry-After", "")
            if after.isdigit():
                pause = max(pause, min(float(after), 2.0))
        if ledger is not None:
            ledger.retried(last)
        time.sleep(pause)
        pause = min(pause * 2, 1.0)
    raise AssertionError(f"{method} {url}: no answer but {last} for {deadline:.0f} s")


@dataclass
class Patient:
    id: str
    headers: dict[str, str]


def new_patients(base: str, count: int, pathways: Iterable[str]) -> list[Patient]:
    """Register ``count`` synthetic patients and enrol them; each gets its own token."""
    staff = staff_headers()
    wanted = list(pathways)

    def one(_: int) -> Patient:
        with httpx.Client(timeout=30) as client:
            created = send(
                client, "POST", f"{base}/fhir/Patient", json=fnr_patient(new_fnr()), headers=staff
            )
            assert created.status_code in (200, 201), created.text
            pid = created.json()["id"]
            for pathway in wanted:
                enrolled = send(
                    client,
                    "POST",
                    f"{base}/api/patients/{pid}/enrolments",
                    json={"pathway": pathway},
                    headers=staff,
                )
                assert enrolled.status_code in (200, 201), enrolled.text
        token = create_token(get_settings(), role="patient", patient_id=pid)
        return Patient(pid, {"Authorization": f"Bearer {token}"})

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


def ident() -> str:
    return f"faults-{uuid.uuid4().hex}"


def identifier_of(body: dict[str, Any]) -> str:
    found = body["identifier"]
    found = found[0] if isinstance(found, list) else found
    return f"{found['system']}|{found['value']}"


def epilepsy_response(
    patient_id: str, seizures: int, authored: dt.datetime, new_type: bool = False
) -> dict[str, Any]:
    """An epilepsy follow-up answered with ``seizures`` (the one answer that varies)."""
    return {
        "resourceType": "QuestionnaireResponse",
        "identifier": {"system": IDENT_SYSTEM, "value": ident()},
        "questionnaire": f"{EPILEPSY_FORM}|1",
        "status": "completed",
        "subject": {"reference": f"Patient/{patient_id}"},
        "authored": authored.isoformat(),
        "item": [
            {"linkId": "seizure-count", "answer": [{"valueInteger": seizures}]},
            {"linkId": "new-seizure-type", "answer": [{"valueBoolean": new_type}]},
            {"linkId": "side-effects", "answer": [{"valueCoding": {"code": "none"}}]},
            {"linkId": "wants-contact", "answer": [{"valueBoolean": False}]},
        ],
    }


def observation(
    patient_id: str, code: str, value: float, unit: str, at: dt.datetime
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "identifier": [{"system": IDENT_SYSTEM, "value": ident()}],
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": at.isoformat(),
        "valueQuantity": {"value": value, "system": "http://unitsofmeasure.org", "code": unit},
    }


def post_resource(
    client: httpx.Client, base: str, patient: Patient, body: dict[str, Any], ledger: Ledger
) -> httpx.Response:
    """POST one resource; record it as accepted (2xx) or refused (4xx)."""
    rtype = body["resourceType"]
    key = identifier_of(body)
    answer = send(
        client, "POST", f"{base}/fhir/{rtype}", ledger, json=body, headers=patient.headers
    )
    if answer.is_success:
        ledger.accept(Accepted(patient.id, rtype, key, answer.json()["id"], body))
    else:
        ledger.refuse(key, answer.status_code, answer.text)
    return answer


def post_bundle(
    client: httpx.Client, base: str, patient: Patient, bundle: dict[str, Any], ledger: Ledger
) -> httpx.Response:
    """POST a transaction Bundle; each entry it answers 2xx for is accepted."""
    answer = send(client, "POST", f"{base}/fhir", ledger, json=bundle, headers=patient.headers)
    assert answer.status_code == 200, answer.text
    for entry, result in zip(bundle["entry"], answer.json()["entry"], strict=True):
        body = entry["resource"]
        status = result["response"]["status"]
        assert status.startswith("20"), result
        rid = result["response"]["location"].split("/")[1]
        ledger.accept(Accepted(patient.id, body["resourceType"], identifier_of(body), rid, body))
    return answer


def in_parallel(jobs: list[Callable[[httpx.Client], Any]], threads: int = 8) -> list[Any]:
    """Run ``jobs`` (each given its own keep-alive client) on ``threads`` threads."""
    local = threading.local()
    clients: list[httpx.Client] = []
    lock = threading.Lock()

    def run(job: Callable[[httpx.Client], Any]) -> Any:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(timeout=30)
            with lock:
                clients.append(client)
        return job(client)

    try:
        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(run, jobs))
    finally:
        for client in clients:
            client.close()
