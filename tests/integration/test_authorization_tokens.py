"""Every /api call needs a valid token, on both databases: 401 for each kind of bad token, also
before a malformed body is described, and for a token the public development secret signed
in production."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from runtime import caches
from runtime.settings import DEV_SECRET
from tests.integration.api_rows import forged_headers, headers
from tests.integration.authz_calls import ALL_CALLS, STAFF_CALLS, World, call, item_untouched

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
