"""From a patient's phone to the worklist, over HTTP only, with a real Celery worker, on the
embedded default and on PostgreSQL + Redis: the contract's FHIR samples, and every embedded
test of every pathway in rules/ posted as FHIR, end with the expected levels and reasons."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.conftest import ROOT, Service
from tests.documented import assert_documented
from tests.e2e.situations import bundle, number
from tests.integration.fhir_helpers import bearer, fnr_patient, new_fnr, sample
from triage import Level, load_pathway
from triage.model import Pathway, PathwayTest
from triage.testing import run_pathway_tests

PATHWAYS = [load_pathway(path) for path in sorted((ROOT / "rules").glob("*.yaml"))]
PATHWAYS_BY_ID = {pathway.id: pathway for pathway in PATHWAYS}
WAIT = 60.0


@dataclass(frozen=True)
class Case:
    pathway: Pathway
    test: PathwayTest
    patient_id: str
    posted: bool  # False: the test has no answers and no readings, so nothing to post

    @property
    def name(self) -> str:
        return f"{self.pathway.id} / {self.test.name}"


@pytest.fixture(scope="module")
def client(service: Service) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def worker(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    service.start_worker(tmp_path_factory.mktemp(f"e2e-worker-{service.name}"))
    yield service
    service.stop_workers()


def _enrol(client: TestClient, patient_id: str, pathway: str, thresholds: dict[str, Any]) -> None:
    body = {"pathway": pathway, "thresholds": thresholds}
    answer = client.post(
        f"/api/patients/{patient_id}/enrolments", json=body, headers=bearer("clinician")
    )
    assert answer.status_code == 201, answer.text
    assert_documented("POST", "/api/patients/{patient_id}/enrolments", answer)


@pytest.fixture(scope="module")
def situations(client: TestClient, worker: Service) -> list[Case]:
    """Every pathway test posted for a patient of its own (before any Questionnaire is
    stored: a test may leave out an answer the contract's Questionnaire requires)."""
    pairs = [(pathway, test) for pathway in PATHWAYS for test in pathway.tests]
    patients = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"resource": fnr_patient(new_fnr()), "request": {"method": "POST", "url": "Patient"}}
            for _ in pairs
        ],
    }
    answer = client.post("/fhir", json=patients, headers=bearer("clinician"))
    assert answer.status_code == 200, answer.text
    entries = answer.json()["entry"]
    assert [e["response"]["status"] for e in entries] == ["201 Created"] * len(pairs)
    ids = [e["fullUrl"].removeprefix("Patient/") for e in entries]
    assert len(set(ids)) == len(pairs)
    cases = []
    for (pathway, test), patient_id in zip(pairs, ids, strict=True):
        thresholds = {name: number(value) for name, value in test.thresholds.items()}
        _enrol(client, patient_id, pathway.id, thresholds)
        situation = bundle(pathway, test, patient_id)
        if situation["entry"]:
            answer = client.post("/fhir", json=situation, headers=bearer("patient", patient_id))
            assert answer.status_code == 200, f"{pathway.id} / {test.name}: {answer.text}"
        cases.append(Case(pathway, test, patient_id, bool(situation["entry"])))
    return cases


def worklist(client: TestClient) -> list[dict[str, Any]]:
    """Every open item, page by page."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 200}
    while True:
        answer = client.get("/api/worklist", params=params, headers=bearer("clinician"))
        assert answer.status_code == 200, answer.text
        assert_documented("GET", "/api/worklist", answer)
        page = answer.json()
        items += page["items"]
        if not page["next"]:
            return items
        params["cursor"] = page["next"]


def wait_for_items(
    client: TestClient, wanted: set[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """The open items by (patient, pathway), once every wanted one is on the worklist."""
    deadline = time.monotonic() + WAIT
    while True:
        items = {(i["patient"]["id"], i["pathway"]): i for i in worklist(client)}
        missing = wanted - set(items)
        if not missing:
            return items
        if time.monotonic() > deadline:
            raise AssertionError(
                f"after {WAIT:.0f} s, {len(missing)} items are not on the worklist"
            )
        time.sleep(0.5)


def test_every_pathway_test_posted_as_fhir_gets_the_engines_level_and_reasons(
    client: TestClient, situations: list[Case]
) -> None:
    for pathway in PATHWAYS:  # the engine agrees with every file: a difference below is ours
        assert all(outcome.passed for outcome in run_pathway_tests(pathway)), pathway.id
    items = wait_for_items(client, {(c.patient_id, c.pathway.id) for c in situations if c.posted})
    problems = []
    for case in situations:
        mine = {key: item for key, item in items.items() if key[0] == case.patient_id}
        if not case.posted:
            if mine:
                problems.append(f"{case.name}: nothing posted, yet on the worklist: {mine}")
            continue
        # Each upload is judged as of its own time (RULES.md "When"): the test's situation
        # is the data at its 'now', so the newest result is the engine's answer to it. The
        # earlier readings were judged on less data, and the item holds the worst of them.
        item = mine.pop((case.patient_id, case.pathway.id))
        newest = item["newest"]
        rules = {reason["rule"] for reason in newest["reasons"]}
        expected = case.test.expect
        if (
            newest["level"] != expected.label
            or not set(case.test.expect_rules) <= rules
            or Level.parse(item["level"]) < expected
            or mine
        ):
            problems.append(
                f"{case.name}: expected {expected.label} with {sorted(case.test.expect_rules)}, "
                f"got {newest['level']} with {newest['reasons']} (held {item['level']}; "
                f"other items: {list(mine)})"
            )
    assert not problems, "\n".join(problems)


def test_the_contract_samples_reach_the_worklist_with_levels_and_reasons(
    client: TestClient, situations: list[Case]
) -> None:
    staff = bearer("clinician")
    answer = client.post("/fhir/Patient", json=sample("Patient-kari.json"), headers=staff)
    assert answer.status_code == 201, answer.text
    patient_id = answer.json()["id"]
    pathways = ("epilepsy", "diabetes-cgm", "heart-failure")
    for pathway in pathways:
        _enrol(client, patient_id, pathway, {})
    form = sample("Questionnaire-epilepsy-followup.json")
    answer = client.post("/fhir/Questionnaire", json=form, headers=bearer("author"))
    assert answer.status_code == 201, answer.text
    me = bearer("patient", patient_id)
    posted = {}
    for name in (
        "QuestionnaireResponse-epilepsy-red.json",
        "Observation-glucose-mgdl.json",
        "Observation-blood-pressure.json",
    ):
        kind = name.split("-", 1)[0]
        answer = client.post(f"/fhir/{kind}", json=sample(name, patient_id), headers=me)
        assert answer.status_code == 201, f"{name}: {answer.text}"
        posted[name] = answer.json()["id"]
    items = wait_for_items(client, {(patient_id, pathway) for pathway in pathways})
    assert {k for k in items if k[0] == patient_id} == {(patient_id, p) for p in pathways}

    epilepsy = items[(patient_id, "epilepsy")]
    assert epilepsy["level"] == "red"
    assert epilepsy["reasons"][0]["rule"] == "many-seizures"
    assert epilepsy["reasons"][0]["text"] == "5 anfall siden sist (grense 3)"
    assert epilepsy["patient"]["name"] == "Kari Nordmann"

    heart = items[(patient_id, "heart-failure")]
    assert heart["level"] == "red"
    assert ("low-blood-pressure", "Systolisk blodtrykk 86") in [
        (r["rule"], r["text"]) for r in heart["reasons"]
    ]

    # 52 mg/dL is 2.9 mmol/L: below 3.0 all the time. Stored as if it were 52 mmol/L, the
    # same reading would be above 13.9 all the time instead.
    glucose = items[(patient_id, "diabetes-cgm")]
    texts = {r["rule"]: r["text"] for r in glucose["reasons"]}
    assert glucose["level"] == "red"
    assert texts["level2-hypoglycaemia"] == "100% av tiden under 3.0 mmol/L"
    assert texts["too-few-readings"] == "Bare 1 målinger siste 14 dager"
    assert "level2-hyperglycaemia" not in texts

    qr = posted["QuestionnaireResponse-epilepsy-red.json"]
    answer = client.get(f"/api/submissions/QuestionnaireResponse/{qr}/result", headers=me)
    assert answer.status_code == 200, answer.text
    assert_documented("GET", "/api/submissions/{resource_type}/{resource_id}/result", answer)
    (result,) = answer.json()["results"]
    many = next(rule for rule in PATHWAYS_BY_ID["epilepsy"].rules if rule.id == "many-seizures")
    assert (result["pathway"], result["level"]) == ("epilepsy", "red")
    assert " ".join(result["patient_message"].split()) == " ".join(
        str(many.patient_message).split()
    )
