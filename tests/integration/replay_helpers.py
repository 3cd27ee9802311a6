"""A history built through the real API for the replay tests: patients registered and
enrolled over HTTP, their data POSTed as a patient app does, and each upload judged by the
worker's own job (run inline) before the next is sent, so the stored results are the live
ones. Synthetic data only."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import col, select

from store.db import session_scope
from store.models import Outbox, WorklistItem
from tests.integration.api_rows import headers
from tests.integration.fhir_helpers import bearer, fnr_patient, new_fnr
from tests.integration.worker_rows import epilepsy_answers, observation, response
from usecases.judging import job as jobs

WEIGHT = "29463-7"


def new_patient(
    client: TestClient, pathway: str | None = None, thresholds: dict[str, Any] | None = None
) -> tuple[str, str]:
    """A registered patient (id, national id), enrolled in ``pathway`` if given."""
    fnr = new_fnr()
    answer = client.post("/fhir/Patient", json=fnr_patient(fnr), headers=bearer("clinician"))
    assert answer.status_code in (200, 201), answer.text
    pid = str(answer.json()["id"])
    if pathway is not None:
        enrol(client, pid, pathway, thresholds or {})
    return pid, fnr


def enrol(client: TestClient, pid: str, pathway: str, thresholds: dict[str, Any]) -> None:
    answer = client.post(
        f"/api/patients/{pid}/enrolments",
        json={"pathway": pathway, "thresholds": thresholds},
        headers=headers(),
    )
    assert answer.status_code in (200, 201), answer.text


def judge_pending() -> None:
    """Run the worker's job for every upload not yet judged, oldest first."""
    with session_scope() as session:
        rows = session.exec(
            select(Outbox.id).where(col(Outbox.done_at).is_(None)).order_by(col(Outbox.id))
        ).all()
    for outbox_id in rows:
        assert outbox_id is not None
        jobs.triage_outbox(outbox_id)


def send(client: TestClient, pid: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST one resource as the patient's app, then let the worker judge it."""
    answer = client.post(f"/fhir/{body['resourceType']}", json=body, headers=bearer("patient", pid))
    assert answer.status_code == 201, answer.text
    judge_pending()
    stored: dict[str, Any] = answer.json()
    return stored


def withdraw(client: TestClient, pid: str, stored: dict[str, Any]) -> None:
    """The app withdraws an upload: a PUT of it marked ``entered-in-error``."""
    body = {k: v for k, v in stored.items() if k != "meta"}
    body["status"] = "entered-in-error"
    url = f"/fhir/{stored['resourceType']}/{stored['id']}"
    answer = client.put(url, json=body, headers=bearer("patient", pid))
    assert answer.status_code == 200, answer.text
    judge_pending()


def seizures(client: TestClient, pid: str, count: int, at: dt.datetime) -> str:
    return str(send(client, pid, response(pid, epilepsy_answers(count), at))["id"])


def weight(client: TestClient, pid: str, kg: float, at: dt.datetime) -> dict[str, Any]:
    return send(client, pid, observation(pid, WEIGHT, kg, "kg", at))


def override(client: TestClient, pid: str, pathway: str, level: str) -> None:
    with session_scope() as session:
        item = session.exec(
            select(WorklistItem.id).where(
                WorklistItem.patient_id == pid, WorklistItem.pathway_id == pathway
            )
        ).one()
    answer = client.post(
        f"/api/worklist/{item}/override",
        json={"level": level, "reason": "kjent pasient"},
        headers=headers(),
    )
    assert answer.status_code == 200, answer.text


def next_version(text: str, version: int | None = None) -> str:
    """A pathway file's text as ``version`` (default: the file's own version plus one), so a
    draft is always above the version in force whatever that file's version is."""
    found = re.search(r"^version: ([0-9]+)$", text, flags=re.MULTILINE)
    assert found is not None, "a pathway file has a version line"
    target = version if version is not None else int(found[1]) + 1
    return text[: found.start()] + f"version: {target}" + text[found.end() :]
