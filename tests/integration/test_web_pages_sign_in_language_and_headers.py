"""The clinicians' web pages (/app) as HTML, on the embedded default and on PostgreSQL +
Redis: sign-in and the session cookie, the language of the pages, and their security headers."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.integration.api_rows import add_patient
from tests.integration.web_helpers import signed_in, token


def test_pages_need_the_cookie_and_login_takes_only_clinician_tokens(
    anonymous: TestClient,
) -> None:
    for path in ("/app", "/app/patients/p-x", "/app/unrouted", "/app/pathways"):
        response = anonymous.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/app/login"
    patient = anonymous.post(
        "/app/login", data={"token": token(role="patient", patient_id=add_patient())}
    )
    assert patient.status_code == 403
    assert "pasientnøkkel" in patient.text and "set-cookie" not in patient.headers
    assert anonymous.post("/app/login", data={"token": "not-a-token"}).status_code == 401
    assert anonymous.get("/app").status_code == 303

    response = anonymous.post("/app/login", data={"token": token()})
    assert response.status_code == 303 and response.headers["location"] == "/app"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    page = anonymous.get("/app")
    assert page.status_code == 200 and "<table" in page.text
    assert anonymous.post("/app/logout").status_code == 303
    assert anonymous.get("/app").status_code == 303


def test_norwegian_by_default_english_on_request_and_remembered(anonymous: TestClient) -> None:
    signed_in(anonymous)
    assert '<html lang="nb">' in (nb := anonymous.get("/app").text) and "Arbeidsliste" in nb
    en = anonymous.get("/app", params={"lang": "en"})
    assert '<html lang="en">' in en.text and "Worklist" in en.text
    assert "lang=en" in en.headers["set-cookie"]
    assert '<html lang="en">' in anonymous.get("/app/pathways").text


def test_pages_carry_security_headers_and_no_inline_script(anonymous: TestClient) -> None:
    login = anonymous.get("/app/login")
    signed_in(anonymous)
    pages = [anonymous.get(path) for path in ("/app", "/app/pathways", "/app/unrouted")]
    assert "epilepsy.yaml" in pages[1].text and "seizures_red" in pages[1].text
    for response in (login, *pages):
        assert response.status_code == 200
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", response.text, re.S)
        assert all("src=" in attrs or "application/json" in attrs for attrs, _ in scripts)
    assert anonymous.get("/app/static/app.css").status_code == 200
