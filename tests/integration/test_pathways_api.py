"""Pathway files over HTTP on both databases: listed with version and SHA-256, read with
thresholds and history, published by authors with line numbers when refused."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ROOT
from tests.integration.api_rows import add_patient, add_result, headers, pathway_text, unique

YAML = {"Content-Type": "application/yaml"}


def author(*pathways: str) -> dict[str, str]:
    return {**headers("author", pathways=list(pathways) or ["*"], subject="author:kim"), **YAML}


def test_the_rules_directory_is_listed_with_version_and_sha256(client: TestClient) -> None:
    response = client.get("/api/pathways", headers=headers())
    assert response.status_code == 200, response.text
    listed = {p["id"]: p for p in response.json()["pathways"]}
    files = {path.stem: path for path in (ROOT / "rules").glob("*.yaml")}
    assert set(files) <= set(listed)
    epilepsy_bytes = files["epilepsy"].read_bytes()
    assert listed["epilepsy"]["sha256"] == hashlib.sha256(epilepsy_bytes).hexdigest()
    assert listed["epilepsy"]["version"] >= 1
    granted = client.get("/api/pathways", headers=headers(pathways=["epilepsy"])).json()
    assert [p["id"] for p in granted["pathways"]] == ["epilepsy"]


def test_one_pathway_shows_thresholds_schedule_text_and_history(client: TestClient) -> None:
    response = client.get("/api/pathways/epilepsy", headers=headers())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["thresholds"]["seizures_red"] == {
        "value": 3,
        "min": 1,
        "max": 30,
        "doc": "Anfall siden sist som gir rødt",
        "per_patient": True,
    }
    assert body["schedule"] == {
        "every": "P6M",
        "overdue_after": "P14D",
        "remind_after": ["P3D", "P7D"],
    }
    assert body["text"] == Path(ROOT / "rules" / "epilepsy.yaml").read_text(encoding="utf-8")
    assert [v["version"] for v in body["versions"]] == [body["version"]]
    assert client.get("/api/pathways/nope", headers=headers()).status_code == 404


def test_publishing_raises_the_version_and_keeps_the_old_one(client: TestClient) -> None:
    pathway = unique("t")
    url = f"/api/pathways/{pathway}"
    first = client.put(url, content=pathway_text(pathway, 1), headers=author())
    assert first.status_code == 201, first.text
    assert (first.json()["version"], first.json()["published_by"]) == (1, "author:kim")
    same = client.put(url, content=pathway_text(pathway, 1), headers=author())
    assert (same.status_code, same.json()["version"]) == (200, 1)

    patient = add_patient()
    made_by_v1 = add_result(patient, pathway, "red", version=first.json()["version"])
    second_text = pathway_text(pathway, 2, red=6)
    second = client.put(url, content=second_text, headers={**author(pathway), **YAML})
    assert second.status_code == 201, second.text
    assert second.json()["sha256"] == hashlib.sha256(second_text.encode()).hexdigest()

    body = client.get(url, headers=headers()).json()
    assert (body["version"], body["thresholds"]["pain_red"]["value"]) == (2, 6)
    assert [v["version"] for v in body["versions"]] == [2, 1]
    history = client.get(f"/api/patients/{patient}/triage", headers=headers()).json()
    assert [(r["id"], r["ruleset"]["version"]) for r in history["results"]] == [(made_by_v1, 1)]
    old = client.get(url, params={"version": 1}, headers=headers()).json()
    assert (old["version"], old["in_force"], old["thresholds"]["pain_red"]["value"]) == (
        1,
        False,
        7,
    )


def test_a_changed_file_without_a_higher_version_is_409(client: TestClient) -> None:
    pathway = unique("t")
    url = f"/api/pathways/{pathway}"
    assert client.put(url, content=pathway_text(pathway, 2), headers=author()).status_code == 201
    stale = client.put(url, content=pathway_text(pathway, 2, red=5), headers=author())
    assert stale.status_code == 409
    assert "raise 'version' to 3" in stale.json()["problems"][0]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("pathway: {id}\ntitle: x\nversion: 1\nrules: [\n", ":5:"),  # YAML syntax
        (pathway_text("{id}").replace("pain >= pain_red", "pain >= nothing"), ":14:19:"),
        (pathway_text("{id}", expect="green"), ":26:1: test 'mye smerte'"),  # its own test fails
    ],
)
def test_a_broken_file_is_refused_with_its_line(client: TestClient, text: str, where: str) -> None:
    pathway = unique("t")
    response = client.put(
        f"/api/pathways/{pathway}", content=text.replace("{id}", pathway), headers=author()
    )
    assert response.status_code == 422, response.text
    problems = response.json()["problems"]
    assert problems and all(p.startswith(f"{pathway}.yaml:") for p in problems)
    assert any(where in p for p in problems), problems
    assert client.get(f"/api/pathways/{pathway}", headers=headers()).status_code == 404


def test_the_file_must_name_the_pathway_of_the_url_and_be_yaml(client: TestClient) -> None:
    pathway = unique("t")
    mismatch = client.put(
        f"/api/pathways/{pathway}", content=pathway_text("other"), headers=author()
    )
    assert mismatch.status_code == 422
    assert "the URL says" in mismatch.json()["problems"][0]
    as_json = {**author(), "Content-Type": "application/json"}
    wrong_type = client.put(
        f"/api/pathways/{pathway}", content=pathway_text(pathway), headers=as_json
    )
    assert wrong_type.status_code == 415
