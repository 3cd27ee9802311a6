"""Shadow versions through the HTTP API: a small pathway with yellow and red pain limits,
answers posted as the patient's app posts them, and the worker's job run on what waits.
Synthetic data only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import col, select

from store.db import session_scope
from store.models import Outbox
from tests.integration.api_rows import add_patient, headers
from usecases.judging import job as jobs

PAIN_PATHWAY = """\
pathway: {id}
title: Smerteforløp {id}
version: {version}
applies_to:
  questionnaires:
    - http://example.no/fhir/Questionnaire/{id}
thresholds:
  pain_red: {{value: {red}, min: 3, max: 10, doc: Smerte som gir rødt}}
  pain_yellow: {{value: 3, min: 1, max: 10, doc: Smerte som gir gult}}
inputs:
  pain: {{answer: pain, required: true}}
rules:
  - id: much-pain
    when: pain >= pain_red
    level: red
    say: "Mye smerte {{pain}}"
    action: {{consultation: phone, within: P2D}}
    patient_message: Vi ringer deg.
  - id: some-pain
    when: pain >= pain_yellow
    level: yellow
    say: "Noe smerte {{pain}}"
    action: {{consultation: digital, within: P7D}}
    patient_message: Vi ser på svaret ditt.
otherwise:
  level: green
  patient_message: Takk for svaret.
tests:
  - name: lite smerte
    answers: {{pain: 1}}
    expect: green
  - name: mye smerte
    answers: {{pain: 10}}
    expect: red
"""

YAML = {"Content-Type": "application/yaml"}


def pain_pathway(pathway_id: str, version: int, red: int) -> str:
    return PAIN_PATHWAY.format(id=pathway_id, version=version, red=red)


def author(pathway: str) -> dict[str, str]:
    return {**headers("author", pathways=[pathway], subject="author:kim"), **YAML}


def put(client: TestClient, pathway: str, version: int, red: int, mode: str | None = None) -> Any:
    params = {"mode": mode} if mode else {}
    return client.put(
        f"/api/pathways/{pathway}",
        params=params,
        content=pain_pathway(pathway, version, red),
        headers=author(pathway),
    )


def enrolled_patient(client: TestClient, pathway: str) -> str:
    patient = add_patient()
    response = client.post(
        f"/api/patients/{patient}/enrolments",
        json={"pathway": pathway},
        headers=headers(pathways=[pathway]),
    )
    assert response.status_code in (200, 201), response.text
    return patient


def answer(client: TestClient, pathway: str, patient: str, pain: int) -> str:
    """The patient's app posts a response; the worker judges what waits. Its id."""
    body = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"http://example.no/fhir/Questionnaire/{pathway}",
        "status": "completed",
        "subject": {"reference": f"Patient/{patient}"},
        "authored": (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat(),
        "item": [{"linkId": "pain", "answer": [{"valueInteger": pain}]}],
    }
    response = client.post(
        "/fhir/QuestionnaireResponse",
        json=body,
        headers=headers("patient", patient_id=patient),
    )
    assert response.status_code == 201, response.text
    run_waiting(patient)
    return str(response.json()["id"])


def run_waiting(patient: str) -> list[int]:
    """Run the triage job of every outbox row of the patient not done yet (as the worker
    would); the rows run."""
    with session_scope() as session:
        waiting = session.exec(
            select(Outbox.id).where(
                col(Outbox.patient_id) == patient, col(Outbox.done_at).is_(None)
            )
        ).all()
    boxes = sorted(int(box) for box in waiting if box is not None)
    for box in boxes:
        assert jobs.triage_outbox(box) == "done"
    return boxes


def worklist(client: TestClient, pathway: str, patient: str) -> list[dict[str, Any]]:
    response = client.get(
        "/api/worklist", params={"pathway": pathway}, headers=headers(pathways=[pathway])
    )
    assert response.status_code == 200, response.text
    return [i for i in response.json()["items"] if i["patient"]["id"] == patient]


def triage_history(client: TestClient, patient: str, pathway: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/patients/{patient}/triage", headers=headers(pathways=[pathway]))
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


def own_result(client: TestClient, patient: str, response_id: str) -> dict[str, Any]:
    """What the patient's app reads about its own submission."""
    response = client.get(
        f"/api/submissions/QuestionnaireResponse/{response_id}/result",
        headers=headers("patient", patient_id=patient),
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def results_by_level(client: TestClient, pathway: str) -> dict[str, int]:
    """``/api/stats``: the results of the pathway's uploads by level, over the last month."""
    today = dt.datetime.now(dt.UTC).date()
    query = {
        "pathway": pathway,
        "from": str(today - dt.timedelta(days=40)),
        "to": str(today + dt.timedelta(days=1)),
        "by": "month",
    }
    response = client.get("/api/stats", params=query, headers=headers(pathways=[pathway]))
    assert response.status_code == 200, response.text
    totals: dict[str, int] = {}
    for bucket in response.json()["pathways"][0]["buckets"]:
        for level, n in bucket["events"]["results"].items():
            totals[level] = totals.get(level, 0) + n
    return totals


def shadow_report(client: TestClient, pathway: str) -> Any:
    return client.get(f"/api/pathways/{pathway}/shadow", headers=author(pathway))
