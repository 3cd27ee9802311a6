"""CORS closed unless configured, and the security headers of every response, on both
backends: a strict policy on the pages, a deny-all policy on the API, nothing of patient
data cached, HSTS when configured."""

from __future__ import annotations

import re
from typing import Any

from tests.integration.api_rows import add_patient, headers, unique
from tests.integration.fhir_helpers import weight
from tests.integration.security_helpers import Make, patient_headers

# --- CORS -----------------------------------------------------------------------------------

PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type",
}


def test_cors_is_closed_by_default(make: Make) -> None:
    client = make()
    evil = {"Origin": "https://evil.example"}
    preflight = client.options("/fhir/Observation", headers={**evil, **PREFLIGHT})
    read = client.get("/fhir/metadata", headers=evil)
    assert read.status_code == 200
    for response in (preflight, read):
        assert not [h for h in response.headers if h.lower().startswith("access-control-")]


def test_cors_allows_exactly_the_configured_origins(make: Make) -> None:
    client = make(CORS_ORIGINS="https://app.example.no, https://other.example.no")
    good = {"Origin": "https://app.example.no"}
    preflight = client.options("/fhir/Observation", headers={**good, **PREFLIGHT})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example.no"
    methods = {m.strip() for m in preflight.headers["access-control-allow-methods"].split(",")}
    assert methods == {"GET", "POST", "PUT", "PATCH", "DELETE"}
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert "access-control-allow-credentials" not in preflight.headers
    read = client.get("/fhir/metadata", headers=good)
    assert read.headers["access-control-allow-origin"] == "https://app.example.no"

    evil = {"Origin": "https://evil.example"}
    refused = client.options("/fhir/Observation", headers={**evil, **PREFLIGHT})
    assert "access-control-allow-origin" not in refused.headers
    assert "access-control-allow-origin" not in client.get("/fhir/metadata", headers=evil).headers


# --- headers ------------------------------------------------------------------------------------

WEB_CSP = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "object-src": {"'none'"},
    "base-uri": {"'none'"},
    "frame-ancestors": {"'none'"},
    "form-action": {"'self'"},
}


def csp(response: Any) -> dict[str, set[str]]:
    directives = [d.split() for d in response.headers["content-security-policy"].split(";")]
    return {d[0]: set(d[1:]) for d in directives if d}


def assert_common(response: Any) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    policy = response.headers["permissions-policy"]
    for feature in ("camera", "microphone", "geolocation"):
        assert f"{feature}=()" in policy
    assert "strict-transport-security" not in response.headers


def test_pages_have_the_strict_policy_and_are_not_cached(make: Make) -> None:
    client = make()
    token = headers("clinician")["Authorization"][7:]
    responses = [client.get("/app/login"), client.post("/app/login", data={"token": "x"})]
    assert client.post("/app/login", data={"token": token}).status_code == 303
    patient = add_patient()
    responses += [client.get(path) for path in ("/app", f"/app/patients/{patient}")]
    for response in responses:
        assert csp(response) == WEB_CSP, response.request.url
        assert response.headers["cache-control"] == "no-store"
        assert_common(response)
    static = client.get("/app/static/app.js")
    assert static.status_code == 200 and "no-store" not in static.headers.get("cache-control", "")
    assert_common(static)


def test_the_api_has_a_deny_all_policy_and_patient_data_is_not_cached(make: Make) -> None:
    client = make(RATE_LIMIT_PATIENT_PER_MINUTE="1", MAX_BODY_BYTES="5000")
    patient = add_patient()
    staff = headers("clinician")
    own = patient_headers(patient)
    created = client.post(
        "/fhir/Observation", json=weight(f"Patient/{patient}", 1, ident=unique("h")), headers=own
    )
    assert created.status_code == 201
    responses = {
        "created": created,
        "fhir read": client.get(f"/fhir/Patient/{patient}", headers=staff),
        "resource read": client.get(created.headers["location"], headers=staff),
        "patient": client.get(f"/api/patients/{patient}", headers=staff),
        "worklist": client.get("/api/worklist", headers=staff),
        "throttled": client.post("/fhir/Observation", json={}, headers=own),
        "too large": client.post("/fhir/Observation", content=b"x" * 6000, headers=staff),
        "unauthorized": client.get(f"/fhir/Patient/{patient}"),
    }
    expected = {
        "created": 201,
        "fhir read": 200,
        "resource read": 200,
        "patient": 200,
        "worklist": 200,
        "throttled": 429,
        "too large": 413,
        "unauthorized": 401,
    }
    assert {k: r.status_code for k, r in responses.items()} == expected
    for name, response in responses.items():
        assert csp(response) == {"default-src": {"'none'"}, "frame-ancestors": {"'none'"}}, name
        assert response.headers["cache-control"] == "no-store", name
        assert_common(response)


def test_hsts_when_configured(make: Make) -> None:
    client = make(HSTS="true")
    for path in ("/fhir/metadata", "/app/login"):
        hsts = client.get(path).headers["strict-transport-security"]
        assert re.fullmatch(r"max-age=\d{8,}; includeSubDomains", hsts), hsts
