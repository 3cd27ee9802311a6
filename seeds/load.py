"""Loading the demo through the service's real HTTP API, the path a patient app's data takes.

Questionnaires are posted with an author's token, patients are registered and enrolled
with a clinician's, and each upload is a transaction Bundle posted with that patient's own
token. Every resource is a conditional create on its identifier, so loading twice stores
everything once. Uploads go in rounds (every patient's first, then every second...), so a
patient's older data is handed to the worker well before the newer.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from seeds import fhir
from seeds.demo import Demo, generate

# (role, patient id or None) -> a bearer token
TokenMaker = Callable[[str, str | None], str]
FHIR_JSON = "application/fhir+json"


class SeedError(RuntimeError):
    """The service refused part of the demo."""


@dataclass
class LoadReport:
    questionnaires: int = 0
    patients: dict[str, str] = field(default_factory=dict)  # demo key -> the service's id
    enrolments: int = 0
    bundles: int = 0
    resources: int = 0

    def summary(self) -> str:
        return (
            f"{self.questionnaires} questionnaires, {len(self.patients)} patients, "
            f"{self.enrolments} enrolments, {self.resources} resources in {self.bundles} "
            "transaction bundles"
        )


def _check(response: httpx.Response, what: str, ok: tuple[int, ...] = (200, 201)) -> Any:
    if response.status_code not in ok:
        raise SeedError(f"{what}: HTTP {response.status_code}: {response.text[:500]}")
    return response.json()


def _post(
    client: httpx.Client,
    url: str,
    body: Any,
    token: str,
    content_type: str = FHIR_JSON,
    **headers: str,
) -> httpx.Response:
    """POST as a patient app should: a 503 (the database busy for a moment) or 429 is sent
    again after the wait the service asks for; every post is a conditional create or an
    update to the same state, so a repeat stores nothing twice."""
    for attempt in range(6):
        response = client.post(
            url,
            json=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": content_type, **headers},
        )
        if response.status_code not in (429, 503) or attempt == 5:
            return response
        time.sleep(float(response.headers.get("Retry-After", "1")) * (attempt + 1))
    return response


def load_demo(
    base_url: str,
    tokens: TokenMaker,
    demo: Demo | None = None,
    progress: Callable[[str], None] = lambda _: None,
    timeout: float = 120.0,
) -> LoadReport:
    """Post the demo (default: generated for the current time) to the service at ``base_url``."""
    demo = demo or generate(dt.datetime.now(dt.UTC))
    report = LoadReport()
    author, clinician = tokens("author", None), tokens("clinician", None)
    with httpx.Client(base_url=base_url, timeout=timeout) as client:
        for questionnaire in demo.questionnaires:
            response = _post(
                client,
                "/fhir/Questionnaire",
                questionnaire,
                author,
                **{"If-None-Exist": f"url={questionnaire['url']}"},
            )
            _check(response, f"Questionnaire {questionnaire['url']}")
            report.questionnaires += 1
        progress(f"{report.questionnaires} questionnaires")
        for patient in demo.patients:
            ident = patient.resource["identifier"][0]
            response = _post(
                client,
                "/fhir/Patient",
                patient.resource,
                clinician,
                **{"If-None-Exist": f"identifier={ident['system']}|{ident['value']}"},
            )
            patient_id = str(_check(response, f"Patient {patient.key}")["id"])
            report.patients[patient.key] = patient_id
            for pathway, thresholds in patient.enrolments.items():
                enrolment = {
                    "pathway": pathway,
                    "thresholds": thresholds,
                    "enrolled_at": patient.began().isoformat(),
                }
                url = f"/api/patients/{patient_id}/enrolments"
                response = _post(client, url, enrolment, clinician, "application/json")
                _check(response, f"enrolment of {patient.key} in {pathway}")
                report.enrolments += 1
        progress(f"{len(report.patients)} patients, {report.enrolments} enrolments")
        rounds = max((len(p.uploads) for p in demo.patients), default=0)
        for index in range(rounds):
            for patient in demo.patients:
                if index >= len(patient.uploads):
                    continue
                patient_id = report.patients[patient.key]
                upload = patient.uploads[index]
                bundle = fhir.transaction(upload, patient_id)
                response = _post(client, "/fhir", bundle, tokens("patient", patient_id))
                _check(response, f"upload {index} of {patient.key}")
                report.bundles += 1
                report.resources += len(upload)
            progress(f"upload round {index + 1} of {rounds}: {report.bundles} bundles")
    return report
