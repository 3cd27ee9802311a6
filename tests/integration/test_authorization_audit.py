"""The audit table has no write route, and no write route the app has changes the audit rows
written before it, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from store.db import session_scope
from tests.integration.api_rows import add_item, add_patient, headers, pathway_text, unique
from tests.integration.fhir_helpers import fnr_patient, new_fnr, sample, weight


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
        # Version 2 in force, version 3 beside it as the shadow version (issue 13), which the
        # API promotes; a replay of version 4, which the page publishes as shadow and
        # promotes.
        "PUT /api/pathways/{pathway_id}": [
            ("author", pathway_text(pathway, version=2)),
            ("author", (pathway_text(pathway, version=3), "mode=shadow")),
        ],
        "POST /api/pathways/{pathway_id}/replay": [("author", pathway_text(pathway, version=4))],
        "POST /api/pathways/{pathway_id}/promote": [("author", None)],
        "POST /app/replay": [
            ("web-author", {"pathway": pathway, "text": pathway_text(pathway, version=4)})
        ],
        "POST /app/replay/{pathway_id}/{job_id}/publish": [("web-author", {"mode": "shadow"})],
        "POST /app/replay/{pathway_id}/promote": [("web-author", {})],
        # The patient's form link (issue 14): one that is not valid is refused (404).
        "POST /skjema/{token}": [("web", {"f1": "1"})],
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
        "token": "not-a-valid-link",
    }
    web_values = {**values, "item_id": add_item(patient, unique("web"), "yellow")}
    web = TestClient(client.app, follow_redirects=False)  # type: ignore[arg-type]
    statuses: dict[str, list[int]] = {}
    for route, specs in calls.items():
        method, path = route.split(" ", 1)
        for n, (role, body) in enumerate(specs):
            change = ("override", "clear-override", "acknowledge")[n % 3]
            if role in ("web", "web-author"):
                signed = headers("author" if role == "web-author" else "clinician")
                web.post("/app/login", data={"token": signed["Authorization"][7:]})
                url = path.format(**web_values, change=change)
                response = web.request(method, url, data=body)
            elif isinstance(body, (str, tuple)):
                text, query = body if isinstance(body, tuple) else (body, "")
                url = path.format(**values) + (f"?{query}" if query else "")
                response = client.request(method, url, content=text, headers=publish)
                if path.endswith("/replay"):  # the job the page publishes
                    values["job_id"] = web_values["job_id"] = response.json()["id"]
            else:
                url = path.format(**values)
                if path == "/fhir/{rtype}":
                    url += f"?identifier=urn:test:reading|{corrected}"
                auth = headers(role, patient_id=patient) if role == "patient" else headers(role)
                response = client.request(method, url, json=body, headers=auth)
            statuses.setdefault(f"{method} {path}", []).append(response.status_code)
            assert response.status_code < 500, (method, url, response.text)
    failed = {k: v for k, v in statuses.items() if any(s >= 400 for s in v)}
    # Only what is wrong on purpose: a wrong token, and a form link that is not valid.
    assert failed == {"POST /app/login": [401], "POST /skjema/{token}": [404]}, failed

    after = audit_rows()
    assert after[: len(before)] == before
    assert len(after) > len(before)
