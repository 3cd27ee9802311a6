"""The signing secret: a placeholder is refused everywhere but development."""

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
