"""The patient form's link token: one patient, one task, until the task's period ends; a
form token is never an API token and an API token never a form token."""

from __future__ import annotations

import base64
import datetime as dt

import jwt
import pytest

from api.auth import create_token, decode_token
from runtime import clock
from runtime.settings import Settings
from usecases.patient_form.link import (
    BadLink,
    ExpiredLink,
    FormTaskView,
    form_link,
    make_token,
    read_token,
)

SETTINGS = Settings(jwt_secret="unit-test-secret-" + "x" * 40)
OTHER = Settings(jwt_secret="another-unit-test-secret-" + "y" * 40)
TASK = "t-" + "a1" * 16
PATIENT = "p-" + "b2" * 16
NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
END = NOW + dt.timedelta(days=14)


def test_a_token_names_its_task_and_patient_and_expiry() -> None:
    token = make_token(TASK, PATIENT, END, SETTINGS)
    with clock.frozen_at(NOW):
        claims = read_token(token, SETTINGS)
    assert (claims.task_id, claims.patient_id, claims.expires) == (TASK, PATIENT, END)


def test_the_link_fits_an_sms() -> None:
    task = FormTaskView(TASK, PATIENT, "http://example.no/fhir/Questionnaire/x", "1", END, "ready")
    link = form_link(task, SETTINGS)
    assert link.startswith("/skjema/")
    assert len(link) <= 100, link  # 160 characters with a host of up to 60


def test_other_id_shapes_are_kept_exactly() -> None:
    token = make_token("task/ÆØÅ-1", "patient 7", END, SETTINGS)
    with clock.frozen_at(NOW):
        claims = read_token(token, SETTINGS)
    assert (claims.task_id, claims.patient_id) == ("task/ÆØÅ-1", "patient 7")


def test_it_expires_at_the_end_of_the_period() -> None:
    token = make_token(TASK, PATIENT, END, SETTINGS)
    with clock.frozen_at(END - dt.timedelta(seconds=1)):
        assert read_token(token, SETTINGS).task_id == TASK
    with clock.frozen_at(END), pytest.raises(ExpiredLink):
        read_token(token, SETTINGS)


@pytest.mark.parametrize("position", [0, 5, 20, 40, -1])
def test_any_altered_character_is_refused(position: int) -> None:
    token = make_token(TASK, PATIENT, END, SETTINGS)
    flipped = "B" if token[position] != "B" else "C"
    altered = (
        token[:position] + flipped + token[position + 1 :]
        if position != -1
        else token[:-1] + flipped
    )
    with clock.frozen_at(NOW), pytest.raises(BadLink):
        read_token(altered, SETTINGS)


def test_a_longer_expiry_cannot_be_written_in() -> None:
    token = make_token(TASK, PATIENT, END, SETTINGS)
    data = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    data[1] = 0xFF  # the expiry's high byte: far in the future
    forged = base64.urlsafe_b64encode(bytes(data)).rstrip(b"=").decode()
    with clock.frozen_at(END + dt.timedelta(days=1)), pytest.raises(BadLink):
        read_token(forged, SETTINGS)


def test_another_secret_is_refused() -> None:
    token = make_token(TASK, PATIENT, END, OTHER)
    with clock.frozen_at(NOW), pytest.raises(BadLink):
        read_token(token, SETTINGS)


def test_an_api_token_is_not_a_form_token() -> None:
    api_token = create_token(SETTINGS, role="patient", patient_id=PATIENT)
    with pytest.raises(BadLink):
        read_token(api_token, SETTINGS)


def test_a_form_token_is_not_an_api_token() -> None:
    token = make_token(TASK, PATIENT, END, SETTINGS)
    with pytest.raises(jwt.InvalidTokenError):
        decode_token(SETTINGS, token)


def test_a_form_signature_under_the_raw_secret_is_refused() -> None:
    """The key is derived for this purpose: a MAC under the API's key does not verify."""
    import hashlib
    import hmac
    import struct

    payload = struct.pack(">BI", 1, int(END.timestamp())) + bytes([1]) + b"t" + bytes(16)
    payload += bytes([1]) + b"p" + bytes(16)
    mac = hmac.new(SETTINGS.jwt_secret.encode(), payload, hashlib.sha256).digest()[:16]
    token = base64.urlsafe_b64encode(payload + mac).rstrip(b"=").decode()
    with clock.frozen_at(NOW), pytest.raises(BadLink):
        read_token(token, SETTINGS)


@pytest.mark.parametrize(
    "junk", ["", "a", "a.b.c", "%%%", "A" * 800, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]
)
def test_junk_is_refused(junk: str) -> None:
    with clock.frozen_at(NOW), pytest.raises(BadLink):
        read_token(junk, SETTINGS)
