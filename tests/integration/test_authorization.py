"""Who may do what on every /api endpoint, on both databases: 401 without a valid token,
403 for a wrong role, for another patient (existing or not, alike) and for a pathway not
granted; a refused change changes nothing; the audit table has no write route."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from store.db import session_scope
from store.models import Outbox, Resource, WorklistItem, new_id
from tests.conftest import Service
from tests.integration.api_rows import (
    add_item,
    add_patient,
    add_result,
    forged_headers,
    headers,
    pathway_text,
    unique,
)


@dataclass(frozen=True)
class World:
    pathway: str
    patient: str  # in `pathway`: an item, a result, a submission
    other_patient: str
    item: str
    submission: str


@pytest.fixture(scope="module")
def world(service: Service) -> World:
    pathway = unique("auth")
    patient, other = add_patient(), add_patient()
    item = add_item(patient, pathway, "red")
    add_result(patient, pathway, "red")
    submission = new_id("qr")
    with session_scope() as session:
        outbox = Outbox(patient_id=patient, resource_ids=[submission])
        session.add(outbox)
        session.flush()
        body = {"resourceType": "QuestionnaireResponse", "id": submission}
        session.add(
            Resource(
                id=submission,
                resource_type="QuestionnaireResponse",
                patient_id=patient,
                body=body,
                outbox_id=outbox.id,
            )
        )
    return World(pathway, patient, other, item, submission)


@pytest.fixture
def client(service: Service) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


# (method, path, JSON body); {patient}, {item}, {pathway}, {submission} filled from World.
STAFF_CALLS: list[tuple[str, str, Any]] = [
    ("GET", "/api/worklist?pathway={pathway}", None),
    ("POST", "/api/worklist/{item}/acknowledge", {"note": "x"}),
    ("POST", "/api/worklist/{item}/resolve", {"note": "x"}),
    ("POST", "/api/worklist/{item}/override", {"level": "green", "reason": "x"}),
    ("GET", "/api/patients/{patient}", None),
    ("GET", "/api/patients/{patient}/triage", None),
    ("GET", "/api/patients/{patient}/enrolments", None),
    ("POST", "/api/patients/{patient}/enrolments", {"pathway": "{pathway}"}),
    ("GET", "/api/pathways/{pathway}", None),
]
UNSCOPED_CALLS: list[tuple[str, str, Any]] = [
    ("GET", "/api/worklist", None),
    ("GET", "/api/unrouted", None),
    ("GET", "/api/pathways", None),
]
PUBLISH = ("PUT", "/api/pathways/{pathway}", None)
RESULT = ("GET", "/api/submissions/QuestionnaireResponse/{submission}/result", None)
PATIENT_PATHS = [
    "/api/patients/{id}",
    "/api/patients/{id}/triage",
    "/api/patients/{id}/enrolments",
]
ALL_CALLS = [*STAFF_CALLS, *UNSCOPED_CALLS, PUBLISH, RESULT]


def call(client: TestClient, world: World, spec: tuple[str, str, Any], auth: dict[str, str]) -> Any:
    method, path, body = spec
    values = {k: getattr(world, k) for k in ("patient", "item", "pathway", "submission")}
    url = path.format(**values)
    if spec is PUBLISH:
        text = pathway_text(world.pathway, version=1)
        return client.request(
            method, url, content=text, headers={**auth, "Content-Type": "text/yaml"}
        )
    if isinstance(body, dict):
        body = {k: v.format(**values) if isinstance(v, str) else v for k, v in body.items()}
    return client.request(method, url, json=body, headers=auth)


def item_untouched(world: World) -> bool:
    with session_scope() as session:
        item = session.get(WorklistItem, world.item)
        assert item is not None
        return item.status == "open" and item.override_level is None


BAD_TOKENS = {
    "none": lambda: {},
    "not-bearer": lambda: {"Authorization": "Basic dXNlcjpwYXNz"},
    "garbage": lambda: {"Authorization": "Bearer not.a.token"},
    "expired": lambda: forged_headers(exp=1_600_000_000),
    "wrong-audience": lambda: forged_headers(aud="another-service"),
    "wrong-signature": lambda: forged_headers(secret="x" * 40),
    "unknown-role": lambda: forged_headers(role="admin"),
}


@pytest.mark.parametrize("spec", ALL_CALLS, ids=lambda s: f"{s[0]} {s[1]}")
@pytest.mark.parametrize("token", list(BAD_TOKENS))
def test_every_call_needs_a_valid_token(
    client: TestClient, world: World, spec: tuple[str, str, Any], token: str
) -> None:
    response = call(client, world, spec, BAD_TOKENS[token]())
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert item_untouched(world)


@pytest.mark.parametrize(
    "spec", [*STAFF_CALLS, *UNSCOPED_CALLS, PUBLISH], ids=lambda s: f"{s[0]} {s[1]}"
)
def test_a_patient_token_may_not_use_staff_calls_even_for_itself(
    client: TestClient, world: World, spec: tuple[str, str, Any]
) -> None:
    response = call(client, world, spec, headers("patient", patient_id=world.patient))
    assert response.status_code == 403, response.text
    assert item_untouched(world)


def test_a_clinician_may_not_publish(client: TestClient, world: World) -> None:
    response = call(client, world, PUBLISH, headers("clinician"))
    assert response.status_code == 403


@pytest.mark.parametrize("spec", [*STAFF_CALLS, PUBLISH, RESULT], ids=lambda s: f"{s[0]} {s[1]}")
def test_a_pathway_not_granted_is_403(
    client: TestClient, world: World, spec: tuple[str, str, Any]
) -> None:
    role = "author" if spec is PUBLISH else "clinician"
    response = call(client, world, spec, headers(role, pathways=[unique("elsewhere")]))
    assert response.status_code == 403, response.text
    assert item_untouched(world)


@pytest.mark.parametrize("path", PATIENT_PATHS)
def test_another_patients_data_is_403_whether_or_not_it_exists(
    client: TestClient, world: World, path: str
) -> None:
    own = headers("patient", patient_id=world.other_patient)
    existing = client.get(path.format(id=world.patient), headers=own)
    missing = client.get(path.format(id="p-does-not-exist"), headers=own)
    assert existing.status_code == missing.status_code == 403
    assert existing.json() == missing.json()


def test_a_patient_reads_only_its_own_submission(client: TestClient, world: World) -> None:
    own = call(client, world, RESULT, headers("patient", patient_id=world.patient))
    assert own.status_code == 202  # not triaged yet: pending
    stranger = headers("patient", patient_id=world.other_patient)
    theirs = call(client, world, RESULT, stranger)
    missing = client.get("/api/submissions/QuestionnaireResponse/qr-none/result", headers=stranger)
    assert theirs.status_code == missing.status_code == 403
    assert theirs.json() == missing.json()


def test_the_audit_table_has_no_write_route(client: TestClient) -> None:
    paths = [getattr(route, "path", "") for route in client.app.routes]  # type: ignore[attr-defined]
    assert not [path for path in paths if "audit" in path]
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        response = client.request(method, "/api/audit", headers=headers("author"), json={})
        assert response.status_code in (404, 405)
