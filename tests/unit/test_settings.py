"""The signing secrets: a placeholder is refused everywhere but development, for the API's
tokens and, when a webhook is set, for the notifications' signature."""

from __future__ import annotations

import pytest

from runtime.settings import DEV_SECRET, Settings

REAL = "k3v9-" + "x" * 40


@pytest.mark.parametrize("environment", ["production", "test"])
@pytest.mark.parametrize("secret", [DEV_SECRET, "changeme", "secret", "short-but-not-known"])
def test_a_placeholder_or_short_secret_is_refused_outside_development(
    environment: str, secret: str
) -> None:
    settings = Settings(environment=environment, jwt_secret=secret)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="JWT_SECRET"):
        settings.check_secret()


def test_development_runs_with_the_development_secret() -> None:
    Settings(environment="development", jwt_secret=DEV_SECRET).check_secret()


def test_production_runs_with_a_real_secret() -> None:
    Settings(environment="production", jwt_secret=REAL).check_secret()


@pytest.mark.parametrize("secret", ["", DEV_SECRET, "short-notify-secret"])
def test_a_webhook_without_a_real_signing_secret_is_refused_outside_development(
    secret: str,
) -> None:
    webhook = {"notify_url": "https://gateway.example.no/events", "notify_secret": secret}
    with pytest.raises(RuntimeError, match="NOTIFY_SECRET"):
        Settings(environment="production", jwt_secret=REAL, **webhook).check_secret()  # type: ignore[arg-type]
    Settings(environment="development", jwt_secret=DEV_SECRET, **webhook).check_secret()  # type: ignore[arg-type]


def test_a_webhook_with_a_real_secret_or_no_webhook_runs_in_production() -> None:
    Settings(
        environment="production",
        jwt_secret=REAL,
        notify_url="https://gateway.example.no/events",
        notify_secret="n" * 40,
    ).check_secret()
    Settings(environment="production", jwt_secret=REAL, notify_secret="").check_secret()
