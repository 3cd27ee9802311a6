"""Who may do what on every /api endpoint, on both databases: 401 without a valid token,
403 for a wrong role, for another patient (existing or not, alike) and for a pathway not
granted; a refused change changes nothing; the audit table has no write route."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.app import create_app
from runtime import caches
from runtime.settings import DEV_SECRET
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
from tests.integration.fhir_helpers import fnr_patient, new_fnr, sample, weight


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
    "wrong-issuer": lambda: forged_headers(iss="someone-else"),
    "alg-none": lambda: forged_headers(algorithm="none"),
    "alg-hs512": lambda: forged_headers(algorithm="HS512"),
    "missing-exp": lambda: forged_headers(drop="exp"),
    "null-exp": lambda: forged_headers(exp=None),
    "missing-sub": lambda: forged_headers(drop="sub"),
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


BODY_CALLS = [spec for spec in STAFF_CALLS if isinstance(spec[2], dict)]


@pytest.mark.parametrize("spec", BODY_CALLS, ids=lambda s: f"{s[0]} {s[1]}")
def test_a_malformed_body_without_a_valid_token_is_401_not_a_description_of_the_body(
    client: TestClient, world: World, spec: tuple[str, str, Any]
) -> None:
    """FastAPI reads a body before the token check; who may not call learns nothing about
    what the call expects. With a valid token the same body is a 422 that says where."""
    method, path, _ = spec
    url = path.format(patient=world.patient, item=world.item)
    broken, as_json = b"{not json", {"Content-Type": "application/json"}
    for token in ("none", "expired", "wrong-signature"):
        response = client.request(
            method, url, content=broken, headers={**as_json, **BAD_TOKENS[token]()}
        )
        assert response.status_code == 401, (token, response.text)
        assert "problems" not in response.json()
    staff = {**as_json, **headers("clinician")}
    response = client.request(method, url, content=broken, headers=staff)
    assert response.status_code == 422, response.text
    assert response.json()["problems"]
    assert item_untouched(world)


def test_in_production_a_token_signed_with_the_development_secret_is_401(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The development placeholder is public: in production (with a real secret) a token
    it signed is refused everywhere, while the real secret's tokens work; and production
    with the placeholder itself does not start at all."""
    monkeypatch.setenv("ENVIRONMENT", "production")
    caches.reset()
    try:
        with TestClient(create_app()) as client:
            for spec in ALL_CALLS:
                response = call(client, world, spec, forged_headers(secret=DEV_SECRET))
                assert response.status_code == 401, (spec, response.text)
            assert client.get("/api/worklist", headers=headers("clinician")).status_code == 200
        assert item_untouched(world)
        monkeypatch.setenv("JWT_SECRET", DEV_SECRET)
        caches.reset()
        with pytest.raises(RuntimeError, match="JWT_SECRET"):
            create_app()
    finally:
        monkeypatch.undo()
        caches.reset()


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


def all_routes(routes: list[Any]) -> Iterator[tuple[str, str]]:
    """(method, path) of every route, also those in included routers (FastAPI keeps those
    in nested ``_IncludedRouter`` objects, not in ``app.routes`` itself)."""
    for route in routes:
        candidates = getattr(route, "effective_candidates", None)
        if candidates is not None:
            yield from all_routes(candidates())
            continue
        for method in getattr(route, "methods", None) or ():
            yield method, route.path


WRITES = ("POST", "PUT", "PATCH", "DELETE")
AUDIT_SNAPSHOT = sa.text(
    "SELECT id, CAST(at AS TEXT), actor, role, action, patient_id, target, "
    "CAST(detail AS TEXT) FROM auditevent ORDER BY id"
)


def audit_rows() -> list[tuple[Any, ...]]:
    with session_scope() as session:
        return [tuple(row) for row in session.connection().execute(AUDIT_SNAPSHOT)]


def test_the_audit_table_has_no_write_route(client: TestClient) -> None:
    routes = list(all_routes(client.app.routes))  # type: ignore[attr-defined]
    assert ("POST", "/fhir/Observation") in routes and (
        "PUT",
        "/api/pathways/{pathway_id}",
    ) in routes
    assert not [path for _, path in routes if "audit" in path.lower()]
    for method in WRITES:
        for path in ("/api/audit", "/api/audit/1", "/fhir/AuditEvent", "/fhir/AuditEvent/1"):
            response = client.request(method, path, headers=headers("author"), json={})
            assert response.status_code in (404, 405), (method, path, response.text)


def write_calls(
    patient: str, item: str, pathway: str, corrected: str = "corrected"
) -> dict[str, list[tuple[str, Any]]]:
    """For each write route ("METHOD path"): (role, body) of the calls that exercise it. A
    dict body is JSON (a form under /app), a str is sent as is, None is no body."""
    fhir_patient = f"Patient/{patient}"
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {
                "resource": weight(fhir_patient, 11, ident=unique("batch")),
                "request": {"method": "POST", "url": "Observation"},
            }
        ],
    }
    return {
        "POST /fhir": [("patient", bundle)],
        "POST /fhir/Patient": [("clinician", fnr_patient(new_fnr()))],
        "POST /fhir/Questionnaire": [("author", sample("Questionnaire-epilepsy-followup.json"))],
        "POST /fhir/QuestionnaireResponse": [
            (
                "patient",
                {
                    **sample("QuestionnaireResponse-epilepsy-red.json", patient),
                    "identifier": {"system": "urn:test", "value": unique("qr")},
                },
            )
        ],
        "POST /fhir/Observation": [("patient", weight(fhir_patient, 12, ident=unique("obs")))],
        # A correction of the reading the test posted first (identifier ``corrected``), by
        # id and by identifier (the query is added to the URL below).
        "PUT /fhir/{rtype}/{resource_id}": [
            ("patient", weight(fhir_patient, 13, ident=corrected, value=81.5))
        ],
        "PUT /fhir/{rtype}": [("patient", weight(fhir_patient, 13, ident=corrected, value=81.0))],
        "POST /api/worklist/{item_id}/acknowledge": [("clinician", {"note": "sett"})],
        "POST /api/worklist/{item_id}/override": [
            ("clinician", {"level": "yellow", "reason": "x"})
        ],
        "DELETE /api/worklist/{item_id}/override": [("clinician", None)],
        "POST /api/worklist/{item_id}/resolve": [("clinician", {"note": "ferdig"})],
        "POST /api/patients/{patient_id}/enrolments": [("clinician", {"pathway": pathway})],
        "DELETE /api/patients/{patient_id}/enrolments/{pathway_id}": [("clinician", None)],
        "PUT /api/pathways/{pathway_id}": [("author", pathway_text(pathway, version=2))],
        "POST /app/login": [("web", {"token": "not-a-token"})],
        "POST /app/logout": [("web", {})],
        "POST /app/items/{item_id}/{change}": [
            ("web", {"level": "red", "reason": "x"}),
            ("web", {}),
            ("web", {"note": "x"}),
        ],
        "POST /app/patients/{patient_id}/identifier": [("web", {})],
        "POST /app/patients/{patient_id}/enrolments": [
            ("web", {"pathway": pathway, "t.pain_red": "6"})
        ],
        "POST /app/patients/{patient_id}/enrolments/{pathway_id}/end": [("web", {})],
    }


def test_no_write_route_changes_earlier_audit_rows(client: TestClient) -> None:
    """Every write route the app has, called by a role allowed to: the audit rows written
    before are byte-for-byte the same afterwards, and new ones were appended."""
    patient, pathway = add_patient(), unique("audited")
    item = add_item(patient, pathway, "red")
    author = headers("author")
    publish = {**author, "Content-Type": "text/yaml"}
    published = client.put(
        f"/api/pathways/{pathway}", content=pathway_text(pathway), headers=publish
    )
    assert published.status_code in (200, 201), published.text
    for path in (f"/api/patients/{patient}", f"/api/patients/{patient}/triage"):
        assert client.get(path, headers=author).status_code == 200  # audited reads
    before = audit_rows()
    assert len(before) >= 2

    corrected = unique("corrected")
    first = weight(f"Patient/{patient}", 13, ident=corrected)
    posted = client.post(
        "/fhir/Observation", json=first, headers=headers("patient", patient_id=patient)
    )
    assert posted.status_code == 201, posted.text
    calls = write_calls(patient, item, pathway, corrected)
    routes = {
        f"{m} {p}"
        for m, p in all_routes(client.app.routes)  # type: ignore[attr-defined]
        if m in WRITES
    }
    assert routes == set(calls), "a new write route: add it to write_calls"
    # The pages get an item of their own: the API's calls resolve the first one.
    values = {
        "patient_id": patient,
        "item_id": item,
        "pathway_id": pathway,
        "rtype": "Observation",
        "resource_id": posted.json()["id"],
    }
    web_values = {**values, "item_id": add_item(patient, unique("web"), "yellow")}
    web = TestClient(client.app, follow_redirects=False)  # type: ignore[arg-type]
    statuses: dict[str, list[int]] = {}
    for route, specs in calls.items():
        method, path = route.split(" ", 1)
        for n, (role, body) in enumerate(specs):
            change = ("override", "clear-override", "acknowledge")[n % 3]
            if role == "web":
                web.post("/app/login", data={"token": headers("clinician")["Authorization"][7:]})
                url = path.format(**web_values, change=change)
                response = web.request(method, url, data=body)
            elif isinstance(body, str):
                url = path.format(**values)
                response = client.request(method, url, content=body, headers=publish)
            else:
                url = path.format(**values)
                if path == "/fhir/{rtype}":
                    url += f"?identifier=urn:test:reading|{corrected}"
                auth = headers(role, patient_id=patient) if role == "patient" else headers(role)
                response = client.request(method, url, json=body, headers=auth)
            statuses.setdefault(f"{method} {path}", []).append(response.status_code)
            assert response.status_code < 500, (method, url, response.text)
    failed = {k: v for k, v in statuses.items() if any(s >= 400 for s in v)}
    assert failed == {"POST /app/login": [401]}, failed  # only the wrong token on purpose

    after = audit_rows()
    assert after[: len(before)] == before
    assert len(after) > len(before)
