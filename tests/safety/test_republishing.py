"""API.md "A new pathway version re-judges what is open": within a minute of a publish,
the newest data of every patient on the pathway is judged again; levels may rise, and never
fall by themselves. The wrist-fracture pathway is this file's alone (no other test uses it);
each test publishes the in-force file with the version raised and ``pain_red`` changed
(its embedded tests pass for any ``pain_red`` from 4 to 8)."""

from __future__ import annotations

import re
from typing import Any

from tests.safety.answers import rules_of
from tests.safety.client import Api, Patient
from tests.safety.fhir_builders import WRIST_PATHWAY, ago, wrist


def _publish(api: Api, pain_red: int) -> int:
    current = api.get(f"/api/pathways/{WRIST_PATHWAY}").json()
    version = current["version"] + 1
    text = re.sub(r"(?m)^version: \d+$", f"version: {version}", current["text"])
    text, changed = re.subn(r"pain_red: \{value: \d+,", f"pain_red: {{value: {pain_red},", text)
    assert changed == 1, "the wrist-fracture file no longer has the pain_red line this test edits"
    answer = api.request(
        "PUT", f"/api/pathways/{WRIST_PATHWAY}", api.author, content=text, content_type="text/yaml"
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["version"] == version
    return version


def _rejudged(api: Api, patient: Patient, version: int) -> dict[str, Any] | None:
    for result in api.results(patient):
        if result["kind"] == "rejudge" and result["ruleset"]["version"] == version:
            return result
    return None


def test_a_stricter_threshold_published_raises_an_open_yellow_item_to_red_without_new_data(
    api: Api,
) -> None:
    patient = api.new_patient(WRIST_PATHWAY)
    api.created(patient, wrist(patient, 6, ago(1)))
    yellow = api.the_item(patient, WRIST_PATHWAY)
    assert yellow["level"] == "yellow", yellow
    version = _publish(api, pain_red=5)
    item = api.wait_until(
        "the yellow item rises to red after the stricter version",
        lambda: (found := api.item(patient, WRIST_PATHWAY)) and found["level"] == "red" and found,
    )
    assert item["id"] == yellow["id"]
    assert "severe-pain" in rules_of(item)
    assert item["ruleset"]["version"] == version
    result = _rejudged(api, patient, version)
    assert result is not None and result["level"] == "red", api.results(patient)


def test_a_looser_threshold_published_never_lowers_an_open_red(api: Api) -> None:
    patient = api.new_patient(WRIST_PATHWAY)
    api.created(patient, wrist(patient, 7, ago(1)))
    red = api.the_item(patient, WRIST_PATHWAY)
    assert red["level"] == "red", red
    version = _publish(api, pain_red=8)
    result = api.wait_until(
        "the patient is re-judged with the looser version",
        lambda: _rejudged(api, patient, version),
    )
    assert result["level"] == "yellow", result  # 7 is below the new pain_red of 8
    item = api.the_item(patient, WRIST_PATHWAY)
    assert item["id"] == red["id"]
    assert item["level"] == "red", item
    assert "severe-pain" in rules_of(item)
    assert item["newest"]["level"] == "yellow"


def test_a_pathway_file_whose_own_tests_fail_is_refused_and_changes_nothing(api: Api) -> None:
    patient = api.new_patient(WRIST_PATHWAY)
    # Pain 9 is red whatever pain_red (4 to 8) the tests before this one left in force.
    api.created(patient, wrist(patient, 9, ago(1)))
    assert api.the_item(patient, WRIST_PATHWAY)["level"] == "red"
    before = api.get(f"/api/pathways/{WRIST_PATHWAY}").json()
    # pain_red 9: its own test "sterke smerter" (pain 8, expect red) fails
    text = re.sub(r"(?m)^version: \d+$", f"version: {before['version'] + 1}", before["text"])
    text = re.sub(r"pain_red: \{value: \d+,", "pain_red: {value: 9,", text)
    answer = api.request(
        "PUT", f"/api/pathways/{WRIST_PATHWAY}", api.author, content=text, content_type="text/yaml"
    )
    assert answer.status_code == 422, answer.text
    after = api.get(f"/api/pathways/{WRIST_PATHWAY}").json()
    assert (after["version"], after["sha256"]) == (before["version"], before["sha256"])
    same = api.request(  # the same version number again, with the file otherwise unchanged
        "PUT",
        f"/api/pathways/{WRIST_PATHWAY}",
        api.author,
        content=before["text"].replace("description: >", "description: >\n  Endret.", 1),
        content_type="text/yaml",
    )
    assert 400 <= same.status_code < 500, same.text
    assert api.get(f"/api/pathways/{WRIST_PATHWAY}").json()["sha256"] == before["sha256"]
    assert all(r["kind"] != "rejudge" for r in api.results(patient))
    assert api.the_item(patient, WRIST_PATHWAY)["level"] == "red"
