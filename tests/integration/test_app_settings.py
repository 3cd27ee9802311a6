"""An app answers with the settings it was built with (``create_app(settings)``), reached
through one dependency, not with whatever the environment says."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import create_token
from runtime.settings import Settings, get_settings
from tests.conftest import Service


def bearer(settings: Settings) -> dict[str, str]:
    token = create_token(settings, role="clinician", pathways=["*"])
    return {"Authorization": f"Bearer {token}"}


def test_an_app_verifies_tokens_with_the_settings_it_was_built_with(service: Service) -> None:
    own = Settings(jwt_secret="settings-of-this-app-" + "x" * 40)  # the rest from the env
    environment = get_settings()
    assert own.jwt_secret != environment.jwt_secret
    with TestClient(create_app(own), follow_redirects=False) as client:
        assert client.app.state.settings is own  # type: ignore[attr-defined]
        assert client.get("/api/worklist", headers=bearer(own)).status_code == 200
        assert client.get("/api/worklist", headers=bearer(environment)).status_code == 401
        # The body check answers 401 first for a token this app does not accept.
        enrol = "/api/patients/p-none/enrolments"
        assert client.post(enrol, json={}, headers=bearer(own)).status_code == 422
        assert client.post(enrol, json={}, headers=bearer(environment)).status_code == 401
        # The pages' sign-in, and the cookie on the next page.
        token = bearer(own)["Authorization"][7:]
        assert client.post("/app/login", data={"token": token}).status_code == 303
        assert client.get("/app").status_code == 200
        other = bearer(environment)["Authorization"][7:]
        assert client.post("/app/login", data={"token": other}).status_code == 401


def test_without_settings_an_app_reads_the_environment_once(service: Service) -> None:
    assert create_app().state.settings is get_settings()
