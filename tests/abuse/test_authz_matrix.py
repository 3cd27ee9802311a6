"""Who may call what, for EVERY route of the app: the policy is declared below as data, one
entry per route; a route without one fails the test by name, so no new route goes unchecked.

Callers: no token; the patient, for their own data; another patient, for the first one's data
(refused alike whether that data exists or not); a clinician granted the patient's pathway;
a clinician granted another pathway only; an author. The web pages under /app take the
sign-in cookie instead of a bearer token (and the API never takes the cookie).

Refused -> 401 without a token (the pages: a redirect to the sign-in page), otherwise 403
(the pages show patients' tokens the sign-in page too: no patient may sign in there).
Allowed -> neither 401 nor 403, and a clinician's read of the patient's data is audited.
tests/integration/test_authorization_*.py hold the hand-written cases (bad tokens, pathways
not granted, nothing changed by a refusal); this is the generated, exhaustive matrix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import fastapi.routing
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Mount

from api.app import create_app
from api.web.pages import COOKIE
from tests.abuse.world import (
    MISSING_PATIENT,
    PATHWAY,
    READING_SAMPLE,
    RESPONSE_SAMPLE,
    World,
    audit_count,
)
from tests.integration.api_rows import pathway_text, unique
from tests.integration.fhir_helpers import fnr_patient, new_fnr, sample

# Public by design: the API's description, sign-in and sign-out, static files, probes.
PUBLIC = {
    "GET /openapi.json",
    "GET /docs",
    "GET /docs/oauth2-redirect",
    "GET /health",
    "GET /ready",
    "GET /metrics",
    "GET /app/login",
    "POST /app/login",
    "GET /app/logout",
    "POST /app/logout",
    "MOUNT /app/static",
}
# Public, guarded by the signed link in the path (usecases/patient_form/link.py): no bearer
# token or cookie opens them, a bad link is 404/410 for everyone.
LINK_GUARDED = {
    "GET /skjema/{token}",
    "POST /skjema/{token}",
    "GET /skjema/{token}/takk",
    "GET /skjema/{token}/status",
}

CALLERS = ("none", "patient", "other_patient", "clinician", "clinician_elsewhere", "author")
EVERYONE = frozenset(CALLERS)
ANY_TOKEN = EVERYONE - {"none"}
STAFF = frozenset({"clinician", "clinician_elsewhere", "author"})
GRANTED = frozenset({"clinician", "author"})  # staff granted the patient's pathway
OWN_OR_STAFF = STAFF | {"patient"}
OWN_OR_GRANTED = GRANTED | {"patient"}
MISSING_ID = "x-does-not-exist"

Body = Callable[[World, str], Any]  # (world, patient id) -> JSON body


def _reading(world: World, patient: str) -> Any:
    return sample(READING_SAMPLE, patient)


def _response_again(world: World, patient: str, identifier: str | None = None) -> Any:
    system, _, value = (identifier or world.response_identifier).partition("|")
    return sample(RESPONSE_SAMPLE, patient) | {"identifier": {"system": system, "value": value}}


def _bundle(world: World, patient: str) -> Any:
    request = {"method": "POST", "url": "Observation"}
    entry = {"resource": _reading(world, patient), "request": request}
    return {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}


@dataclass(frozen=True)
class Call:
    """How to call a route about the seeded patient, and who may."""

    path: str  # str.format()ed with the World's fields
    allowed: frozenset[str]
    json: Body | None = None
    form: dict[str, str] | None = None
    yaml: bool = False
    audited: bool = False  # a clinician's allowed call records an AuditEvent for the patient
    # The same call about data that does not exist: another patient must get the same 403.
    missing: str | None = None
    missing_json: Body | None = None


# Reads first: the writes below move the patient's worklist item on.
POLICY: dict[str, Call] = {
    # FHIR
    "GET /fhir/metadata": Call("/fhir/metadata", EVERYONE),
    "GET /fhir/Patient": Call("/fhir/Patient?identifier={identifier}", STAFF, audited=True),
    # Staff read patients' identity whatever their pathways (to register and enrol them).
    "GET /fhir/Patient/{patient_id}": Call(
        "/fhir/Patient/{patient}", OWN_OR_STAFF, audited=True, missing="/fhir/Patient/p-none"
    ),
    "GET /fhir/Questionnaire": Call("/fhir/Questionnaire", ANY_TOKEN),
    # Form tasks (docs/tasks.md): a patient's own; staff granted the patient's pathway.
    "GET /fhir/Task": Call(
        "/fhir/Task?patient=Patient/{patient}&status=ready",
        OWN_OR_GRANTED,
        audited=True,
        missing="/fhir/Task?patient=Patient/p-none",
    ),
    "GET /fhir/Task/{task_id}": Call(
        "/fhir/Task/{task}", OWN_OR_GRANTED, audited=True, missing=f"/fhir/Task/{MISSING_ID}"
    ),
    "GET /fhir/{rtype}/{resource_id}": Call(
        "/fhir/QuestionnaireResponse/{response}",
        OWN_OR_GRANTED,
        audited=True,
        missing=f"/fhir/QuestionnaireResponse/{MISSING_ID}",
    ),
    "GET /fhir/{rtype}/{resource_id}/_history": Call(
        "/fhir/QuestionnaireResponse/{response}/_history",
        OWN_OR_GRANTED,
        audited=True,
        missing=f"/fhir/QuestionnaireResponse/{MISSING_ID}/_history",
    ),
    "GET /fhir/{rtype}/{resource_id}/_history/{version_id}": Call(
        "/fhir/QuestionnaireResponse/{response}/_history/1",
        OWN_OR_GRANTED,
        audited=True,
        missing=f"/fhir/QuestionnaireResponse/{MISSING_ID}/_history/1",
    ),
    "POST /fhir": Call("/fhir", OWN_OR_STAFF, json=_bundle, missing_json=_bundle),
    # Corrections: of the patient's own data, or by staff granted the patient's pathway.
    "PUT /fhir/{rtype}/{resource_id}": Call(
        "/fhir/Observation/{observation}",
        OWN_OR_GRANTED,
        json=_reading,
        missing=f"/fhir/Observation/{MISSING_ID}",
        missing_json=_reading,
    ),
    "PUT /fhir/{rtype}": Call(
        "/fhir/QuestionnaireResponse?identifier={response_identifier}",
        OWN_OR_GRANTED,
        json=lambda w, p: _response_again(w, p),
        missing="/fhir/QuestionnaireResponse?identifier=urn:test:abuse|none",
        missing_json=lambda w, p: _response_again(w, p, "urn:test:abuse|none"),
    ),
    "POST /fhir/Observation": Call(
        "/fhir/Observation", OWN_OR_STAFF, json=_reading, missing_json=_reading
    ),
    "POST /fhir/QuestionnaireResponse": Call(
        "/fhir/QuestionnaireResponse",
        OWN_OR_STAFF,
        json=lambda w, p: (
            sample("QuestionnaireResponse-epilepsy-red.json", p)
            | {"identifier": {"system": "urn:test:matrix", "value": unique("m")}}
        ),
        missing_json=lambda w, p: sample("QuestionnaireResponse-epilepsy-red.json", p),
    ),
    "POST /fhir/Patient": Call("/fhir/Patient", STAFF, json=lambda w, p: fnr_patient(new_fnr())),
    "POST /fhir/Questionnaire": Call(
        "/fhir/Questionnaire",
        frozenset({"author"}),
        json=lambda w, p: sample("Questionnaire-epilepsy-followup.json"),
    ),
    # The clinicians' API
    "GET /api/worklist": Call(f"/api/worklist?pathway={PATHWAY}", GRANTED, audited=True),
    "GET /api/unrouted": Call("/api/unrouted", STAFF),
    "GET /api/worklist/waiting": Call(f"/api/worklist/waiting?pathway={PATHWAY}", GRANTED),
    # Filtered to the caller's pathways (none of the patient's for clinician_elsewhere).
    "GET /api/notifications": Call("/api/notifications?status=pending", STAFF),
    "GET /api/patients/{patient_id}": Call("/api/patients/{patient}", GRANTED, audited=True),
    "GET /api/patients/{patient_id}/triage": Call(
        "/api/patients/{patient}/triage", GRANTED, audited=True
    ),
    "GET /api/patients/{patient_id}/enrolments": Call(
        "/api/patients/{patient}/enrolments", GRANTED, audited=True
    ),
    "GET /api/submissions/{resource_type}/{resource_id}/result": Call(
        "/api/submissions/QuestionnaireResponse/{response}/result",
        OWN_OR_GRANTED,
        audited=True,
        missing=f"/api/submissions/QuestionnaireResponse/{MISSING_ID}/result",
    ),
    "GET /api/pathways": Call("/api/pathways", STAFF),
    "GET /api/stats": Call(f"/api/stats?pathway={PATHWAY}&from=2026-01-01&to=2026-12-31", GRANTED),
    "GET /api/stats.csv": Call(
        f"/api/stats.csv?pathway={PATHWAY}&from=2026-01-01&to=2026-12-31", GRANTED
    ),
    # The WMGA28 list names patients by national id; audited without the patient (a count).
    "GET /api/reports/tertial": Call(
        f"/api/reports/tertial?year=2026&tertial=3&pathway={PATHWAY}", GRANTED
    ),
    "GET /api/pathways/{pathway_id}": Call(f"/api/pathways/{PATHWAY}", GRANTED),
    # The pathway has no shadow version: the author is let through to a 404.
    "GET /api/pathways/{pathway_id}/shadow": Call(
        f"/api/pathways/{PATHWAY}/shadow", frozenset({"author"})
    ),
    # The clinicians' pages
    "GET /app": Call(f"/app?pathway={PATHWAY}", GRANTED, audited=True),
    "GET /app/worklist.json": Call(f"/app/worklist.json?pathway={PATHWAY}", GRANTED, audited=True),
    "GET /app/unrouted": Call("/app/unrouted", STAFF),
    "GET /app/waiting": Call("/app/waiting", STAFF),
    "GET /app/notifications": Call("/app/notifications?status=failed", STAFF),
    "GET /app/pathways": Call("/app/pathways", STAFF),
    "GET /app/results": Call(
        f"/app/results?pathway={PATHWAY}&from=2026-01-01&to=2026-12-31", GRANTED
    ),
    "GET /app/results.csv": Call(
        f"/app/results.csv?pathway={PATHWAY}&from=2026-01-01&to=2026-12-31", GRANTED
    ),
    "GET /app/patients/{patient_id}": Call("/app/patients/{patient}", GRANTED, audited=True),
    "POST /app/patients/{patient_id}/identifier": Call(
        "/app/patients/{patient}/identifier", GRANTED, form={}, audited=True
    ),
    # Writes
    "POST /api/patients/{patient_id}/enrolments": Call(
        "/api/patients/{patient}/enrolments", GRANTED, json=lambda w, p: {"pathway": PATHWAY}
    ),
    "POST /app/patients/{patient_id}/enrolments": Call(
        "/app/patients/{patient}/enrolments", GRANTED, form={"pathway": PATHWAY}
    ),
    "DELETE /api/patients/{patient_id}/enrolments/{pathway_id}": Call(
        f"/api/patients/{{patient}}/enrolments/{PATHWAY}", GRANTED
    ),
    "POST /app/patients/{patient_id}/enrolments/{pathway_id}/end": Call(
        f"/app/patients/{{patient}}/enrolments/{PATHWAY}/end", GRANTED, form={}
    ),
    "PUT /api/pathways/{pathway_id}": Call(
        "/api/pathways/{new_pathway}", frozenset({"author"}), yaml=True
    ),
    # No shadow version to promote: the author is let through to a 409.
    "POST /api/pathways/{pathway_id}/promote": Call(
        f"/api/pathways/{PATHWAY}/promote", frozenset({"author"})
    ),
    # Replay (docs/replay.md): an unknown job is the author's 404; a draft of another id 422.
    "POST /api/pathways/{pathway_id}/replay": Call(
        f"/api/pathways/{PATHWAY}/replay?since=P30D", frozenset({"author"}), yaml=True
    ),
    "GET /api/pathways/{pathway_id}/replay/{job_id}": Call(
        f"/api/pathways/{PATHWAY}/replay/rj-none", frozenset({"author"})
    ),
    # The page "Prøv endring": authors only, like the API routes it calls.
    "GET /app/replay": Call(f"/app/replay?pathway={PATHWAY}", frozenset({"author"})),
    "POST /app/replay": Call(
        "/app/replay", frozenset({"author"}), form={"pathway": PATHWAY, "source": "shadow"}
    ),
    "GET /app/replay/{pathway_id}/shadow": Call(
        f"/app/replay/{PATHWAY}/shadow", frozenset({"author"})
    ),
    "GET /app/replay/{pathway_id}/{job_id}": Call(
        f"/app/replay/{PATHWAY}/rj-none", frozenset({"author"})
    ),
    "GET /app/replay/{pathway_id}/{job_id}/status.json": Call(
        f"/app/replay/{PATHWAY}/rj-none/status.json", frozenset({"author"})
    ),
    "POST /app/replay/{pathway_id}/{job_id}/publish": Call(
        f"/app/replay/{PATHWAY}/rj-none/publish", frozenset({"author"}), form={"mode": "shadow"}
    ),
    "POST /app/replay/{pathway_id}/promote": Call(
        f"/app/replay/{PATHWAY}/promote", frozenset({"author"}), form={}
    ),
    "POST /api/worklist/{item_id}/override": Call(
        "/api/worklist/{item}/override",
        GRANTED,
        json=lambda w, p: {"level": "yellow", "reason": "matrise"},
    ),
    "DELETE /api/worklist/{item_id}/override": Call("/api/worklist/{item}/override", GRANTED),
    "POST /app/items/{item_id}/{change}": Call(
        "/app/items/{item}/acknowledge", GRANTED, form={"note": "matrise"}
    ),
    "POST /api/worklist/{item_id}/acknowledge": Call(
        "/api/worklist/{item}/acknowledge", GRANTED, json=lambda w, p: {"note": "matrise"}
    ),
    "POST /api/worklist/{item_id}/resolve": Call(
        "/api/worklist/{item}/resolve",
        GRANTED,
        json=lambda w, p: {"note": "matrise", "contact": "phone"},
    ),
}


# FastAPI 0.165 keeps included routers as one nested route each (older ones flattened them).
_INCLUDED: Any = getattr(fastapi.routing, "_IncludedRouter", ())


def _routes(routes: list[BaseRoute]) -> Iterator[str]:
    """'METHOD path' for every route, included routers flattened (FastAPI keeps them nested)."""
    for route in routes:
        if _INCLUDED and isinstance(route, _INCLUDED):
            for context in route.effective_route_contexts():
                methods = getattr(context.original_route, "methods", None) or set()
                yield from (f"{m} {context.path}" for m in sorted(methods) if m != "HEAD")
        elif isinstance(route, Mount):
            yield f"MOUNT {route.path}"
        else:
            methods = getattr(route, "methods", None) or set()
            yield from (f"{m} {getattr(route, 'path', '')}" for m in sorted(methods) if m != "HEAD")


def test_every_route_has_a_declared_policy() -> None:
    app: FastAPI = create_app()
    routes = set(_routes(app.routes))
    undeclared = sorted(routes - set(POLICY) - PUBLIC - LINK_GUARDED)
    assert not undeclared, f"routes without a declared policy in {__name__}: {undeclared}"
    declared = set(POLICY) | PUBLIC | LINK_GUARDED
    stale = sorted(declared - routes - {"GET /metrics"})  # /metrics: optional
    assert not stale, f"policies for routes that no longer exist: {stale}"


def _request(
    client: TestClient, world: World, route: str, caller: str, call: Call, missing: bool = False
) -> Any:
    method = route.split(" ", 1)[0]
    web = route.split(" ", 1)[1].startswith("/app")
    values = {
        "patient": world.patient,
        "identifier": world.identifier,
        "response": world.response,
        "response_identifier": world.response_identifier,
        "observation": world.observation,
        "item": world.item,
        "task": world.task,
        "new_pathway": unique("matrix"),
    }
    path = (call.missing if missing and call.missing else call.path).format(**values)
    patient = MISSING_PATIENT if missing else world.patient
    token = world.tokens.get(caller)
    if caller == "none":
        # The API never takes the pages' cookie, and the pages never take a bearer token.
        token = world.tokens["author"]
        auth = {"Authorization": f"Bearer {token}"} if web else {"Cookie": f"{COOKIE}={token}"}
    elif web:
        auth = {"Cookie": f"{COOKIE}={token}"}
    else:
        auth = {"Authorization": f"Bearer {token}"}
    kwargs: dict[str, Any] = {"headers": auth}
    body = call.missing_json if missing and call.missing_json else call.json
    if body is not None:
        kwargs["json"] = body(world, patient)
    elif call.form is not None:
        kwargs["data"] = call.form
    elif call.yaml:
        kwargs["content"] = pathway_text(path.rsplit("/", 1)[1])
        kwargs["headers"] = {**auth, "Content-Type": "text/yaml"}
    return client.request(method, path, **kwargs)


def _refused_as(route: str, caller: str) -> str:
    web = route.split(" ", 1)[1].startswith("/app")
    if web and caller in ("none", "patient", "other_patient"):
        return "sign-in"  # no clinician signed in: the sign-in page
    return "401" if caller == "none" else "403"


CASES = [(route, caller) for route in POLICY for caller in CALLERS]


@pytest.mark.parametrize(("route", "caller"), CASES, ids=[f"{r} as {c}" for r, c in CASES])
def test_the_declared_policy_holds(
    client: TestClient, world: World, route: str, caller: str
) -> None:
    call = POLICY[route]
    audits = audit_count(world.patient)
    response = _request(client, world, route, caller, call)
    answer = f"{response.status_code}: {response.text[:300]}"
    if caller in call.allowed:
        assert response.status_code not in (401, 403), answer
        assert response.status_code < 500, answer
        if call.audited and caller in STAFF:
            assert audit_count(world.patient) > audits, f"{route} by {caller} left no audit"
        return
    expected = _refused_as(route, caller)
    if expected == "sign-in":
        assert response.status_code == 303, answer
        assert response.headers["location"] == "/app/login", answer
    else:
        assert response.status_code == int(expected), answer
    assert audit_count(world.patient) == audits, f"a refused {route} wrote an audit event"
    if caller == "other_patient" and (call.missing or call.missing_json):
        # No existence leak: the same refusal for data that does not exist.
        absent = _request(client, world, route, caller, call, missing=True)
        assert (absent.status_code, absent.json()) == (response.status_code, response.json())


@pytest.mark.parametrize("route", sorted(r for r in PUBLIC if r.startswith("GET ")))
def test_public_pages_need_no_token(client: TestClient, route: str) -> None:
    response = client.get(route.split(" ", 1)[1])
    assert response.status_code not in (401, 403), response.text[:300]


@pytest.mark.parametrize("route", sorted(LINK_GUARDED))
def test_link_guarded_routes_take_no_token_but_the_link(
    client: TestClient, world: World, route: str
) -> None:
    method, path = route.split(" ", 1)
    for caller in CALLERS:  # an API token or the sign-in cookie opens no form
        token = world.tokens.get(caller, "")
        headers = {"Authorization": f"Bearer {token}", "Cookie": f"{COOKIE}={token}"}
        response = client.request(
            method, path.replace("{token}", token or "x" * 40), headers=headers
        )
        assert response.status_code == 404, (caller, response.text[:200])
