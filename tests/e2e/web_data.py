"""Synthetic patients for the browser tests, put in over HTTP as a patient app and a clinic
would: Patient, enrolment, then a pathway test's situation as a FHIR transaction Bundle,
triaged by a real worker. Returns once each patient's item is on the worklist."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

import httpx

from tests.conftest import ROOT
from tests.e2e.situations import bundle, number
from tests.integration.fhir_helpers import FNR, bearer, new_fnr
from triage import load_pathway
from triage.model import Pathway, PathwayTest

WAIT = 60.0


@dataclass(frozen=True)
class Person:
    """One synthetic patient with one posted situation."""

    name: str
    patient_id: str
    pathway: str
    level: str  # what the pathway's test expects
    fnr: str


def pathway_test(pathway_id: str, test_name: str) -> tuple[Pathway, PathwayTest]:
    pathway = load_pathway(ROOT / "rules" / f"{pathway_id}.yaml")
    return pathway, next(t for t in pathway.tests if t.name == test_name)


def create_patient(client: httpx.Client, given: str, family: str) -> tuple[str, str]:
    fnr = new_fnr()
    body = {
        "resourceType": "Patient",
        "identifier": [{"system": FNR, "value": fnr}],
        "name": [{"family": family, "given": [given]}],
    }
    answer = client.post("/fhir/Patient", json=body, headers=bearer("clinician"))
    assert answer.status_code == 201, answer.text
    return answer.json()["id"], fnr


def post_situation(
    client: httpx.Client,
    name: str,
    pathway_id: str,
    test_name: str,
    patient_id: str = "",
    authored: dt.datetime | None = None,
) -> Person:
    """Enrol a patient (a new one unless given) and post a pathway test's data as FHIR;
    ``authored`` dates its answers (else the test's own 'now')."""
    pathway, test = pathway_test(pathway_id, test_name)
    fnr = ""
    if not patient_id:
        given, family = name.split(" ", 1)
        patient_id, fnr = create_patient(client, given, family)
    thresholds: dict[str, Any] = {k: number(v) for k, v in test.thresholds.items()}
    answer = client.post(
        f"/api/patients/{patient_id}/enrolments",
        json={"pathway": pathway_id, "thresholds": thresholds},
        headers=bearer("clinician"),
    )
    assert answer.status_code in (200, 201), answer.text
    situation = bundle(pathway, test, patient_id)
    for entry in situation["entry"]:
        if authored is not None and entry["resource"]["resourceType"] == "QuestionnaireResponse":
            entry["resource"]["authored"] = authored.isoformat()
    answer = client.post("/fhir", json=situation, headers=bearer("patient", patient_id))
    assert answer.status_code == 200, answer.text
    return Person(name, patient_id, pathway_id, test.expect.label, fnr)


def open_items(client: httpx.Client) -> dict[tuple[str, str], dict[str, Any]]:
    answer = client.get("/api/worklist", params={"limit": 200}, headers=bearer("clinician"))
    assert answer.status_code == 200, answer.text
    return {(i["patient"]["id"], i["pathway"]): i for i in answer.json()["items"]}


def wait_for_newest(client: httpx.Client, person: Person, held: str) -> dict[str, Any]:
    """The person's open item, once it holds ``held`` and its newest data is at the level
    the person's last posted situation expects."""
    deadline = time.monotonic() + WAIT
    while True:
        item = open_items(client).get((person.patient_id, person.pathway))
        newest = (item or {}).get("newest") or {}
        if item is not None and item["level"] == held and newest.get("level") == person.level:
            return item
        assert time.monotonic() < deadline, f"not judged after {WAIT:.0f} s: {item}"
        time.sleep(0.3)


def wait_for(client: httpx.Client, people: list[Person]) -> dict[tuple[str, str], dict[str, Any]]:
    """The open items, once every person's item is on the worklist at the expected level."""
    deadline = time.monotonic() + WAIT
    while True:
        items = open_items(client)
        levels = {(p.patient_id, p.pathway): items.get((p.patient_id, p.pathway)) for p in people}
        if all(
            item is not None and item["level"] == p.level
            for p, item in zip(people, levels.values(), strict=True)
        ):
            return items
        assert time.monotonic() < deadline, f"not triaged after {WAIT:.0f} s: {levels}"
        time.sleep(0.3)
