"""``triage token``: a development token the API accepts, refused in production."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import jwt
import pytest

from api.auth import decode_token
from cli.main import main
from runtime import caches
from runtime.settings import get_settings

STRONG_SECRET = "a-real-secret-of-more-than-thirty-two-characters-0123456789"


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ENVIRONMENT", "development")
    monkeypatch.delenv("JWT_SECRET", raising=False)
    caches.reset()
    yield
    caches.reset()


def _token(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["token", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_clinician_token_names_the_granted_pathways(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _token(capsys, "--role", "clinician", "--pathways", "epilepsy,diabetes-cgm")
    assert code == 0
    assert len(out.strip().splitlines()) == 1, "only the token, so scripts can use it"
    principal = decode_token(get_settings(), out.strip())
    assert principal.role == "clinician"
    assert principal.pathways == {"epilepsy", "diabetes-cgm"}
    assert principal.may_see_pathway("epilepsy") and not principal.may_see_pathway("copd")


def test_a_star_grants_every_pathway_and_hours_set_the_lifetime(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _token(capsys, "--role", "author", "--pathways", "*", "--hours", "2")
    assert code == 0
    principal = decode_token(get_settings(), out.strip())
    assert principal.role == "author" and principal.may_see_pathway("copd")
    claims = jwt.decode(out.strip(), options={"verify_signature": False})
    lifetime = dt.timedelta(seconds=claims["exp"] - claims["iat"])
    assert lifetime == dt.timedelta(hours=2)


def test_a_patient_token_carries_the_patient_and_needs_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _token(capsys, "--role", "patient", "--patient", "p-12")
    assert code == 0
    principal = decode_token(get_settings(), out.strip())
    assert (principal.role, principal.patient_id, principal.is_staff) == ("patient", "p-12", False)
    code, out, err = _token(capsys, "--role", "patient")
    assert code == 2 and out == "" and "patient" in err


def test_an_unknown_role_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["token", "--role", "admin"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_refused_in_production(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("JWT_SECRET", STRONG_SECRET)
    caches.reset()
    code, out, err = _token(capsys, "--role", "clinician", "--pathways", "*")
    assert code == 2
    assert out == "", "no token is printed"
    assert "production" in err
