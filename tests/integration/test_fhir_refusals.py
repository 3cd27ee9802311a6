"""Each refusal: a 4xx OperationOutcome that says where, and nothing stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.conftest import Service
from tests.integration.fhir_helpers import FNR, bearer, counts, fnr_patient, new_fnr, sample, weight


@pytest.fixture(scope="module")
def client(service: Service) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def pid(client: TestClient) -> str:
    response = client.post(
        "/fhir/Patient", json=fnr_patient(new_fnr()), headers=bearer("clinician")
    )
    assert response.status_code == 201, response.text
    q = sample("Questionnaire-epilepsy-followup.json")
    assert client.post("/fhir/Questionnaire", json=q, headers=bearer("author")).status_code in (
        200,
        201,
    )
    return str(response.json()["id"])


def refused(
    client: TestClient, path: str, body: Any, status: int, location: str | None, **headers: str
) -> dict[str, Any]:
    """Post, and check the status, the OperationOutcome's location and that nothing was stored."""
    before = counts()
    kwargs: dict[str, Any] = {"content": body} if isinstance(body, str | bytes) else {"json": body}
    sent = {**bearer("clinician"), "Content-Type": "application/fhir+json", **headers}
    response = client.post(path, headers=sent, **kwargs)
    assert response.status_code == status, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    if location is not None:
        assert location in [loc for i in outcome["issue"] for loc in i.get("location", [])], outcome
    assert counts() == before
    return outcome


def test_a_client_that_hangs_up_mid_body_stores_nothing_and_breaks_nothing(
    client: TestClient, pid: str
) -> None:
    """A phone losing its network halfway through an upload: the app answers into the void
    (499, as proxies log it) instead of raising out of the server with an error stack."""
    body = json.dumps(weight(f"Patient/{pid}", 1)).encode()
    headers = {"content-type": "application/fhir+json", "content-length": str(len(body))}
    headers.update({k.lower(): v for k, v in bearer("clinician").items()})
    arriving: list[dict[str, Any]] = [
        {"type": "http.request", "body": body[:20], "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return arriving.pop(0) if arriving else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/fhir/Observation",
        "raw_path": b"/fhir/Observation",
        "query_string": b"",
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    before = counts()
    assert client.portal is not None
    client.portal.call(client.app, scope, receive, send)  # raised ClientDisconnect before
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 499, sent
    assert counts() == before
    sent = {**bearer("clinician"), "Content-Type": "application/fhir+json"}
    answer = client.post("/fhir/Observation", content=body, headers=sent)
    assert answer.status_code == 201, answer.text  # the same upload, sent again, is taken


def test_invalid_json(client: TestClient, pid: str) -> None:
    refused(client, "/fhir/Observation", '{"resourceType": "Observation",', 400, None)


def test_wrong_resource_type_for_the_endpoint(client: TestClient, pid: str) -> None:
    body = sample("QuestionnaireResponse-epilepsy-red.json", pid)
    refused(client, "/fhir/Observation", body, 400, "resourceType")


def test_unknown_resource_type(client: TestClient, pid: str) -> None:
    refused(client, "/fhir/Observation", {"resourceType": "Smoothie"}, 400, "resourceType")


def test_invalid_resource(client: TestClient, pid: str) -> None:
    body = weight(f"Patient/{pid}", 1, value="107")  # a string where FHIR wants a number
    refused(client, "/fhir/Observation", body, 400, "Observation.valueQuantity.value")
    unknown_element = weight(f"Patient/{pid}", 1)
    unknown_element["colour"] = "blue"
    refused(client, "/fhir/Observation", unknown_element, 400, "Observation.colour")


def test_subject_that_is_not_a_known_patient(client: TestClient, pid: str) -> None:
    body = sample("QuestionnaireResponse-epilepsy-red.json", "p-nobody")
    refused(client, "/fhir/QuestionnaireResponse", body, 422, "QuestionnaireResponse.subject")
    no_subject = weight(f"Patient/{pid}", 2)
    del no_subject["subject"]
    refused(client, "/fhir/Observation", no_subject, 422, "Observation.subject")


def test_answer_of_the_wrong_type_for_the_pathway(client: TestClient, pid: str) -> None:
    body = sample("QuestionnaireResponse-epilepsy-red.json", pid)
    body["item"][0]["answer"][0] = {"valueString": "fem"}
    outcome = refused(
        client, "/fhir/QuestionnaireResponse", body, 422, "QuestionnaireResponse.item[0].answer[0]"
    )
    assert "pathway epilepsy" in str(outcome)
    unscored = sample("QuestionnaireResponse-epilepsy-red.json", pid)
    unscored["item"][2]["answer"][0]["valueCoding"]["code"] = "awful"
    refused(
        client,
        "/fhir/QuestionnaireResponse",
        unscored,
        422,
        "QuestionnaireResponse.item[2].answer[0]",
    )


def test_response_that_does_not_fit_the_stored_questionnaire(client: TestClient, pid: str) -> None:
    body = sample("QuestionnaireResponse-epilepsy-red.json", pid)
    body["item"].append({"linkId": "favourite-colour", "answer": [{"valueString": "blå"}]})
    refused(client, "/fhir/QuestionnaireResponse", body, 422, "QuestionnaireResponse.item[4]")
    missing = sample("QuestionnaireResponse-epilepsy-red.json", pid)
    del missing["item"][0]  # seizure-count is required
    refused(client, "/fhir/QuestionnaireResponse", missing, 422, "QuestionnaireResponse.item")


def test_unit_that_cannot_be_converted(client: TestClient, pid: str) -> None:
    body = sample("Observation-glucose-mgdl.json", pid)
    body["valueQuantity"].update({"unit": "kg", "code": "kg"})
    outcome = refused(client, "/fhir/Observation", body, 422, "Observation.valueQuantity.code")
    assert "mmol/L" in str(outcome)


def test_invalid_national_id(client: TestClient, pid: str) -> None:
    refused(client, "/fhir/Patient", fnr_patient("13031353454"), 422, "Patient.identifier[0].value")
    d_number = {"resourceType": "Patient", "identifier": [{"system": FNR, "value": "53031353447"}]}
    refused(client, "/fhir/Patient", d_number, 422, "Patient.identifier[0].value")


def test_body_over_the_size_limit(client: TestClient, pid: str) -> None:
    body = weight(f"Patient/{pid}", 3)
    body["note"] = [{"text": "x" * 2_100_000}]
    refused(client, "/fhir/Observation", body, 413, None)


def test_json_nested_absurdly_deep(client: TestClient, pid: str) -> None:
    deep = '{"resourceType": "Observation", "extension": ' + "[" * 5000 + "]" * 5000 + "}"
    outcome = refused(client, "/fhir/Observation", deep, 400, None)
    assert outcome["issue"][0]["code"] == "structure"


def test_no_content_type_is_415_and_stores_nothing(client: TestClient, pid: str) -> None:
    """API.md: a body without a FHIR or JSON Content-Type gets 415 (it was taken before)."""
    body = json.dumps(weight(f"Patient/{pid}", 1)).encode()
    before = counts()
    for path in ("/fhir/Observation", "/fhir"):
        answer = client.post(path, content=body, headers=bearer("clinician"))
        assert answer.status_code == 415, answer.text
        assert answer.json()["resourceType"] == "OperationOutcome"
        assert "Content-Type" in answer.json()["issue"][0]["diagnostics"]
    assert counts() == before


def test_not_json_content_type(client: TestClient, pid: str) -> None:
    refused(
        client,
        "/fhir/Observation",
        "<Observation/>",
        415,
        None,
        **{"Content-Type": "application/fhir+xml"},
    )


def test_transaction_with_one_bad_entry_stores_nothing(client: TestClient, pid: str) -> None:
    entries = [
        {
            "resource": weight(f"Patient/{pid}", m),
            "request": {"method": "POST", "url": "Observation"},
        }
        for m in range(5)
    ]
    entries[3]["resource"]["valueQuantity"]["value"] = "107"
    entries.insert(
        0,
        {
            "fullUrl": "urn:uuid:1",
            "resource": fnr_patient(new_fnr()),
            "request": {"method": "POST", "url": "Patient"},
        },
    )
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    refused(client, "/fhir", bundle, 400, "Bundle.entry[4].resource.valueQuantity.value")


def test_transaction_with_an_unknown_subject_stores_nothing(client: TestClient, pid: str) -> None:
    entries = [
        {
            "resource": weight(f"Patient/{pid}", 1),
            "request": {"method": "POST", "url": "Observation"},
        },
        {
            "resource": weight("Patient/p-nobody", 2),
            "request": {"method": "POST", "url": "Observation"},
        },
    ]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    refused(client, "/fhir", bundle, 400, "Bundle.entry[1].resource.subject")


def test_not_a_bundle_or_a_bundle_of_another_type(client: TestClient, pid: str) -> None:
    refused(client, "/fhir", weight(f"Patient/{pid}", 1), 400, "resourceType")
    refused(client, "/fhir", {"resourceType": "Bundle", "type": "collection"}, 400, "Bundle.type")
