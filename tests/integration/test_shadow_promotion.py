"""Promoting a shadow version, replacing it, and the refusals, on both databases through the
HTTP API: promotion re-judges what is open exactly as an active publish does."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from store.db import session_scope
from store.models import AuditEvent
from tests.documented import assert_documented
from tests.integration.api_rows import headers, unique
from tests.integration.shadow_helpers import (
    answer,
    author,
    enrolled_patient,
    pain_pathway,
    put,
    run_waiting,
    shadow_report,
    triage_history,
    worklist,
)
from tests.integration.web_helpers import signed_in


def promote(client: TestClient, pathway: str) -> Any:
    return client.post(f"/api/pathways/{pathway}/promote", headers=author(pathway))


def test_promotion_puts_the_shadow_in_force_and_rejudges_open_items(client: TestClient) -> None:
    pathway = unique("promote")
    assert put(client, pathway, 1, red=7).status_code == 201
    patient = enrolled_patient(client, pathway)
    answer(client, pathway, patient, pain=5)
    assert put(client, pathway, 2, red=5, mode="shadow").status_code == 201
    (item,) = worklist(client, pathway, patient)
    assert item["level"] == "yellow"

    promoted = promote(client, pathway)
    assert promoted.status_code == 200, promoted.text
    assert_documented("POST", "/api/pathways/{pathway_id}/promote", promoted)
    body = promoted.json()
    assert (body["version"], body["mode"], body["rejudging"]) == (2, "active", 1)
    assert run_waiting(patient)  # the re-judgement handed to the worker
    (item,) = worklist(client, pathway, patient)
    assert (item["level"], item["ruleset"]["version"]) == ("red", 2)
    assert {r["rule"] for r in item["reasons"]} >= {"much-pain"}
    newest = triage_history(client, patient, pathway)[0]
    assert (newest["kind"], newest["level"], newest["ruleset"]["version"]) == ("rejudge", "red", 2)

    shown = client.get(f"/api/pathways/{pathway}", headers=headers()).json()
    assert (shown["version"], shown["in_force"]) == (2, True)
    assert [(v["version"], v["mode"]) for v in shown["versions"]] == [(2, "active"), (1, "active")]
    assert shadow_report(client, pathway).status_code == 404
    again = promote(client, pathway)
    assert again.status_code == 409, again.text
    with session_scope() as session:
        audited = session.exec(
            select(AuditEvent.action, AuditEvent.actor, AuditEvent.detail).where(
                col(AuditEvent.target) == f"pathway/{pathway}"
            )
        ).all()
    assert [(a, who, d["version"], d["mode"]) for a, who, d in audited] == [
        ("pathway.publish", "author:kim", 1, "active"),
        ("pathway.publish", "author:kim", 2, "shadow"),
        ("pathway.promote", "author:kim", 2, "active"),
    ]


def test_a_second_shadow_replaces_the_first_and_an_active_publish_ends_it(
    client: TestClient, anonymous: TestClient
) -> None:
    pathway = unique("replace")
    assert put(client, pathway, 1, red=7).status_code == 201
    patient = enrolled_patient(client, pathway)
    assert put(client, pathway, 2, red=4, mode="shadow").status_code == 201
    answer(client, pathway, patient, pain=4)
    assert shadow_report(client, pathway).json()["levels"]["red"] == 1

    same = put(client, pathway, 2, red=4, mode="shadow")
    assert (same.status_code, same.json()["version"]) == (200, 2)
    stale = put(client, pathway, 2, red=5, mode="shadow")
    assert stale.status_code == 409
    assert "raise 'version' to 3" in stale.json()["problems"][0]
    assert put(client, pathway, 3, red=6, mode="shadow").status_code == 201
    report = shadow_report(client, pathway).json()
    assert (report["shadow"]["version"], report["results"]) == (3, 0)  # 2's stay with 2
    answer(client, pathway, patient, pain=6)
    report = shadow_report(client, pathway).json()
    assert (report["results"], report["matrix"]["yellow"]["red"]) == (1, 1)
    versions = client.get(f"/api/pathways/{pathway}", headers=headers()).json()["versions"]
    assert [(v["version"], v["mode"]) for v in versions] == [
        (3, "shadow"),
        (2, "retired"),
        (1, "active"),
    ]
    retired = client.get(f"/api/pathways/{pathway}", params={"version": 2}, headers=headers())
    assert (retired.json()["version"], retired.json()["in_force"]) == (2, False)
    signed_in(anonymous, pathways=[pathway])
    page = anonymous.get("/app/pathways").text
    assert "v3 (skyggeversjon, ikke i bruk)" in page
    assert "v2 (skyggeversjon, trukket tilbake)" in page
    assert f"({pathway}, v1," in page  # the heading names the version in force

    below = put(client, pathway, 3, red=7)
    assert below.status_code == 409
    assert "raise 'version' to 4" in below.json()["problems"][0]
    active = put(client, pathway, 4, red=8)
    assert (active.status_code, active.json()["mode"]) == (201, "active")
    assert shadow_report(client, pathway).status_code == 404
    assert promote(client, pathway).status_code == 409
    versions = client.get(f"/api/pathways/{pathway}", headers=headers()).json()["versions"]
    assert [v["mode"] for v in versions] == ["active", "retired", "retired", "active"]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("pathway: {id}\ntitle: x\nversion: 2\nrules: [\n", ":5:"),  # YAML syntax
        (pain_pathway("{id}", 2, 5).replace("pain >= pain_red", "pain >= nothing"), ":14:"),
        (
            pain_pathway("{id}", 2, 5).replace("expect: red", "expect: green"),
            ":32:1: test 'mye smerte'",
        ),
    ],
)
def test_a_broken_shadow_draft_is_refused_with_its_line(
    client: TestClient, text: str, where: str
) -> None:
    pathway = unique("broken")
    assert put(client, pathway, 1, red=7).status_code == 201
    response = client.put(
        f"/api/pathways/{pathway}",
        params={"mode": "shadow"},
        content=text.replace("{id}", pathway),
        headers=author(pathway),
    )
    assert response.status_code == 422, response.text
    problems = response.json()["problems"]
    assert problems and all(p.startswith(f"{pathway}.yaml:") for p in problems)
    assert any(where in p for p in problems), problems
    assert shadow_report(client, pathway).status_code == 404


def test_only_the_pathways_authors_promote_and_read_the_shadow(client: TestClient) -> None:
    pathway = unique("who")
    assert put(client, pathway, 1, red=7).status_code == 201
    assert put(client, pathway, 2, red=5, mode="shadow").status_code == 201
    for caller in (
        headers(pathways=[pathway]),
        headers("author", pathways=["other"]),
        headers("patient", patient_id="p-none"),
    ):
        assert client.post(f"/api/pathways/{pathway}/promote", headers=caller).status_code == 403
        assert client.get(f"/api/pathways/{pathway}/shadow", headers=caller).status_code == 403
    assert client.post(f"/api/pathways/{pathway}/promote").status_code == 401
    shown = client.get(f"/api/pathways/{pathway}", headers=headers()).json()
    assert (shown["version"], shown["versions"][0]["mode"]) == (1, "shadow")
