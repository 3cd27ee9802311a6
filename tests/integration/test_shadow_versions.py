"""Shadow versions on both databases, through the HTTP API: published beside the version in
force, they judge each upload too, and their results reach no worklist, no patient answer
and no statistic; the report compares them with the active results (docs/judging.md)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from runtime import metrics
from store.db import session_scope
from store.models import Outbox
from tests.documented import assert_documented
from tests.integration.api_rows import headers, unique
from tests.integration.shadow_helpers import (
    answer,
    author,
    enrolled_patient,
    own_result,
    pain_pathway,
    put,
    results_by_level,
    run_waiting,
    shadow_report,
    triage_history,
    worklist,
)
from usecases.judging import job as jobs
from usecases.judging import shadow


def test_a_shadow_version_judges_beside_the_active_one_and_reaches_nobody(
    client: TestClient,
) -> None:
    pathway = unique("shadow")
    assert put(client, pathway, 1, red=7).status_code == 201
    patient = enrolled_patient(client, pathway)
    answer(client, pathway, patient, pain=4)  # yellow under version 1
    before = worklist(client, pathway, patient)
    assert [(i["level"], i["ruleset"]["version"]) for i in before] == [("yellow", 1)]

    published = put(client, pathway, 2, red=4, mode="shadow")
    assert published.status_code == 201, published.text
    assert_documented("PUT", "/api/pathways/{pathway_id}", published)
    assert (published.json()["mode"], published.json()["rejudging"]) == ("shadow", 0)
    run_waiting(patient)  # nothing waits: a shadow publish re-judges nobody
    assert worklist(client, pathway, patient) == before
    shown = client.get(f"/api/pathways/{pathway}", headers=headers()).json()
    assert (shown["version"], shown["in_force"]) == (1, True)
    assert [(v["version"], v["mode"]) for v in shown["versions"]] == [(2, "shadow"), (1, "active")]
    listed = client.get("/api/pathways", headers=headers(pathways=[pathway])).json()
    assert [p["version"] for p in listed["pathways"]] == [1]

    response_id = answer(client, pathway, patient, pain=5)  # active: yellow; shadow: red
    (item,) = worklist(client, pathway, patient)
    assert (item["level"], item["engine_level"], item["ruleset"]["version"]) == (
        "yellow",
        "yellow",
        1,
    )
    assert {r["rule"] for r in item["reasons"]} == {"some-pain"}
    assert item["newest"]["level"] == "yellow"
    history = triage_history(client, patient, pathway)
    assert [(r["level"], r["ruleset"]["version"]) for r in history] == [("yellow", 1)] * 2
    mine = own_result(client, patient, response_id)
    assert [(r["level"], r["version"]) for r in mine["results"]] == [("yellow", 1)]
    assert mine["results"][0]["patient_message"] == "Vi ser på svaret ditt."
    assert results_by_level(client, pathway) == {"red": 0, "yellow": 2, "green": 0}

    report = shadow_report(client, pathway)
    assert report.status_code == 200, report.text
    assert_documented("GET", "/api/pathways/{pathway_id}/shadow", report)
    body = report.json()
    assert (body["shadow"]["version"], body["active_version"], body["results"]) == (2, 1, 1)
    assert body["levels"] == {"red": 1, "yellow": 0, "green": 0}
    assert body["matrix"]["yellow"] == {"red": 1, "yellow": 0, "green": 0}
    assert (body["compared"], body["agreeing"], body["unpaired"]) == (1, 0, 0)
    assert body["shadow"]["since"] is not None
    # The replay report over the live period, from the stored shadow result: the upload
    # that moved, why, and the patient who would have had a red and had none.
    replayed = body["report"]
    assert (replayed["uploads"], replayed["changed"]) == (1, 1)
    assert replayed["matrix"]["yellow"] == {"red": 1, "yellow": 0, "green": 0}
    assert replayed["pathway"]["version"] == 2
    (example,) = replayed["examples"]["yellow->red"]
    assert (example["patient"], example["inputs"]["pain"]) == (patient, 5)
    assert example["rules_changed"]["started"] != []
    assert [p["patient"] for p in replayed["new_red_patients"]] == [patient]
    assert replayed["items_opened"]["after"]["red"] == 1


def test_each_upload_gets_its_shadow_result_in_its_cell(client: TestClient) -> None:
    pathway = unique("shadow")
    assert put(client, pathway, 1, red=7).status_code == 201
    assert put(client, pathway, 2, red=3, mode="shadow").status_code == 201
    patient = enrolled_patient(client, pathway)
    answer(client, pathway, patient, pain=1)
    answer(client, pathway, patient, pain=3)
    report = shadow_report(client, pathway).json()
    assert report["matrix"]["green"]["green"] == 1
    assert report["matrix"]["yellow"]["red"] == 1
    assert report["results"] == 2


def test_a_failing_shadow_leaves_the_active_judging_whole(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    pathway = unique("shadow")
    assert put(client, pathway, 1, red=7).status_code == 201
    assert put(client, pathway, 2, red=4, mode="shadow").status_code == 201
    patient = enrolled_patient(client, pathway)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("shadow broke")

    monkeypatch.setattr(shadow, "judge", broken)
    failed = metrics.SHADOW_FAILED._value.get()
    answer(client, pathway, patient, pain=8)
    assert metrics.SHADOW_FAILED._value.get() == failed + 1
    (item,) = worklist(client, pathway, patient)
    assert (item["level"], item["ruleset"]["version"]) == ("red", 1)
    assert shadow_report(client, pathway).json()["results"] == 0


def test_the_same_outbox_row_judged_twice_keeps_one_shadow_result(client: TestClient) -> None:
    pathway = unique("shadow")
    assert put(client, pathway, 1, red=7).status_code == 201
    assert put(client, pathway, 2, red=4, mode="shadow").status_code == 201
    patient = enrolled_patient(client, pathway)
    answer(client, pathway, patient, pain=6)
    report = shadow_report(client, pathway).json()
    assert report["results"] == 1
    # A delivery of the same task again: the row is done, nothing more is stored.
    with session_scope() as session:
        (box,) = session.exec(select(Outbox.id).where(col(Outbox.patient_id) == patient)).all()
    assert box is not None
    assert jobs.triage_outbox(box) == "already-done"
    assert shadow_report(client, pathway).json()["results"] == 1


def test_a_shadow_needs_a_version_in_force_and_its_author(client: TestClient) -> None:
    pathway = unique("shadow")
    alone = put(client, pathway, 1, red=7, mode="shadow")
    assert alone.status_code == 409, alone.text
    assert alone.json()["problems"][0].startswith(f"{pathway}.yaml:1:1:")
    assert put(client, pathway, 1, red=7).status_code == 201
    clinician = {**headers(pathways=[pathway]), "Content-Type": "application/yaml"}
    refused = client.put(
        f"/api/pathways/{pathway}",
        params={"mode": "shadow"},
        content=pain_pathway(pathway, 2, 4),
        headers=clinician,
    )
    assert refused.status_code == 403
    elsewhere = {**headers("author", pathways=["other"]), "Content-Type": "application/yaml"}
    assert (
        client.put(
            f"/api/pathways/{pathway}",
            params={"mode": "shadow"},
            content=pain_pathway(pathway, 2, 4),
            headers=elsewhere,
        ).status_code
        == 403
    )
    odd = client.put(
        f"/api/pathways/{pathway}",
        params={"mode": "sometimes"},
        content=pain_pathway(pathway, 2, 4),
        headers=author(pathway),
    )
    assert odd.status_code == 422
    assert shadow_report(client, pathway).status_code == 404
