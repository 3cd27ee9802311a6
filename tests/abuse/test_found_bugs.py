"""Regressions for what the abuse tests found, on PostgreSQL where they showed:

- a NUL character in FHIR text (an identifier, a questionnaire url, a name, a code), in a
  path or query parameter, or in a note answered 500: PostgreSQL cannot store NUL in text;
- a 400-digit integer as a reading's value was accepted and stored as an infinite reading;
- a clinician read the answers of a patient in none of the clinician's pathways.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fhir_adapters import FhirInputError, parse_json
from store.db import session_scope
from store.models import WorklistItem
from tests.abuse.world import (
    ELSEWHERE,
    READING_SAMPLE,
    RESPONSE_SAMPLE,
    World,
    bearer,
    row_counts,
    token,
)
from tests.integration.fhir_helpers import fnr_patient, new_fnr, sample


def _refused(response: Any, status: int, before: dict[str, int], location: str = "") -> None:
    assert response.status_code == status, response.text
    if location:
        issue = response.json()["issue"][0]
        assert issue["severity"] == "error" and issue["diagnostics"]
        assert location in issue["expression"][0], issue
    assert row_counts() == before


def _answers(world: World) -> dict[str, Any]:
    return sample(RESPONSE_SAMPLE, world.patient)


NUL_IN_FHIR = [
    ("/fhir/QuestionnaireResponse", "identifier.value", "QuestionnaireResponse.identifier"),
    ("/fhir/QuestionnaireResponse", "questionnaire", "QuestionnaireResponse.questionnaire"),
    ("/fhir/Observation", "code.coding.0.code", "Observation.code.coding[0].code"),
    ("/fhir/Patient", "name.0.family", "Patient.name[0].family"),
    ("/fhir/Patient", "identifier.0.value", "Patient.identifier[0].value"),
]


@pytest.mark.parametrize(("endpoint", "where", "location"), NUL_IN_FHIR)
def test_nul_in_fhir_text_is_refused_with_its_place(
    client: TestClient, world: World, endpoint: str, where: str, location: str
) -> None:
    body: Any = {
        "/fhir/QuestionnaireResponse": _answers(world),
        "/fhir/Observation": sample(READING_SAMPLE, world.patient),
        "/fhir/Patient": fnr_patient(new_fnr()),
    }[endpoint]
    holder = body
    *steps, last = where.split(".")
    for step in steps:
        holder = holder[int(step)] if step.isdigit() else holder[step]
    holder[last] = f"{holder[last]}\x00"
    before = row_counts()
    response = client.post(endpoint, json=body, headers=world.headers("author"))
    _refused(response, 400, before, location)


def test_nul_in_paths_and_queries_is_a_400(client: TestClient, world: World) -> None:
    staff = world.headers("author")
    before = row_counts()
    for path, params in [
        ("/fhir/Patient", {"identifier": "urn:x|a\x00b"}),
        ("/fhir/Questionnaire", {"url": "http://x\x00"}),
        ("/fhir/Patient/p-a%00b", {}),
        ("/fhir/Observation/o-a%00b", {}),
        ("/api/worklist", {"pathway": "a\x00b"}),
        ("/api/patients/p-a%00b", {}),
        ("/api/pathways/a%00b", {}),
    ]:
        response = client.get(path, params=params, headers=staff)
        assert response.status_code == 400, (path, response.text)
        if path.startswith("/fhir"):
            assert response.json()["resourceType"] == "OperationOutcome"
        else:
            assert "NUL" in response.json()["error"]
    assert row_counts() == before


def test_nul_in_a_note_changes_nothing(client: TestClient, world: World) -> None:
    before = row_counts()
    response = client.post(
        f"/api/worklist/{world.item}/acknowledge",
        json={"note": "ringt\x00"},
        headers=world.headers("author"),
    )
    assert response.status_code == 400, response.text
    assert row_counts() == before
    with session_scope() as session:
        item = session.get(WorklistItem, world.item)
        assert item is not None and item.status == "open" and item.note is None


def test_a_reading_too_large_for_a_float_is_refused(client: TestClient, world: World) -> None:
    reading = sample(READING_SAMPLE, world.patient)
    reading["component"][0]["valueQuantity"]["value"] = 10**400
    before = row_counts()
    response = client.post("/fhir/Observation", json=reading, headers=world.headers("patient"))
    _refused(response, 400, before, "Observation.component[0].valueQuantity.value")


def test_an_answer_given_twice_is_refused_not_read_as_its_last_value(
    client: TestClient, world: World
) -> None:
    """``{"valueInteger": 5, "valueInteger": 0}`` parsed quietly as 0 seizures: green."""
    answers = _answers(world)
    first = answers["item"][0]["answer"][0]
    name, value = next((k, v) for k, v in first.items() if k.startswith("value"))
    text = json.dumps(answers)
    twice = json.dumps({name: value})[:-1] + f', "{name}": 0}}'
    assert text.count(json.dumps({name: value})) == 1
    body = text.replace(json.dumps({name: value}), twice)
    before = row_counts()
    response = client.post(
        "/fhir/QuestionnaireResponse",
        content=body,
        headers={**world.headers("patient"), "Content-Type": "application/fhir+json"},
    )
    _refused(response, 400, before, f"QuestionnaireResponse.item[0].answer[0].{name}")
    assert "more than once" in response.json()["issue"][0]["diagnostics"]


def test_control_characters_are_refused_by_the_parser_but_tab_and_newline_are_not() -> None:
    for text in ("a\x00", "\x07", "\x1b[31m", "a\x0bb"):
        with pytest.raises(FhirInputError):
            parse_json(json.dumps({"resourceType": "Observation", "status": text}))
    assert parse_json(json.dumps({"resourceType": "Observation", "note": "a\tb\r\nc"}))


def test_answers_are_read_only_by_clinicians_of_the_patients_pathways(
    client: TestClient, world: World
) -> None:
    elsewhere = bearer(token("clinician", pathways=[ELSEWHERE]))
    answers, reading = world.response, world.observation
    for path in (f"/fhir/QuestionnaireResponse/{answers}", f"/fhir/Observation/{reading}"):
        assert client.get(path, headers=elsewhere).status_code == 403
        assert client.get(path, headers=world.headers("clinician")).status_code == 200
