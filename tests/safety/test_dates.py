"""Dates a fast phone clock or a placeholder writes: up to a day ahead is judged at once and
flagged (RULES.md "When"), more than a day ahead is 422, and year 1 (.NET's
``DateTime.MinValue``) or 9999-12-31 ("no end") is a 4xx, never a 5xx (API.md, FIELD-NOTES)."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from tests.safety.answers import kinds_of, places, rules_of, words
from tests.safety.client import Api, Patient
from tests.safety.fhir_builders import EPI, HF, ago, ahead, edited, epilepsy, ident, spo2

YEAR_1 = "0001-01-01T00:00:00+01:00"
YEAR_9999 = "9999-12-31T23:59:59-14:00"


def _refused_and_nothing_stored(api: Api, patient: Patient, body: dict, place: str) -> None:
    answer = api.send(patient, body)
    assert 400 <= answer.status_code < 500, f"{answer.status_code}: {answer.text}"
    assert place in places(answer.json()), answer.text
    assert api.results(patient) == []
    assert api.items_anywhere(patient) == []
    # the identifier is still free: nothing of the refused body was kept
    fixed = dict(body)
    fixed[
        "authored" if body["resourceType"] == "QuestionnaireResponse" else "effectiveDateTime"
    ] = ago(1)
    assert api.send(patient, fixed).status_code == 201


def test_a_response_dated_three_hours_ahead_with_red_answers_is_red_at_once_and_flagged(
    api: Api,
) -> None:
    patient = api.new_patient(EPI)
    sent = dt.datetime.now(dt.UTC)
    api.created(patient, epilepsy(patient, 5, ahead(3)))
    item = api.the_item(patient, EPI)
    assert item["level"] == "red", item
    assert "many-seizures" in rules_of(item)
    assert "dated-ahead" in kinds_of(item), item["reasons"]
    assert "missing" not in kinds_of(item)
    # shown at the time it arrived, never as data from the future
    newest = dt.datetime.fromisoformat(item["newest"]["at"])
    assert newest <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    assert newest >= sent - dt.timedelta(seconds=5)


def test_a_reading_dated_three_hours_ahead_is_red_at_once_and_flagged(api: Api) -> None:
    patient = api.new_patient(HF)
    api.created(patient, spo2(patient, 84, ahead(3)))
    item = api.the_item(patient, HF)
    assert item["level"] == "red", item
    assert "low-oxygen" in rules_of(item)
    assert "dated-ahead" in kinds_of(item), item["reasons"]


def test_a_response_dated_two_days_ahead_is_refused_422_naming_authored(api: Api) -> None:
    patient = api.new_patient(EPI)
    body = epilepsy(patient, 5, ahead(48), identifier=ident())
    answer = api.send(patient, body)
    assert answer.status_code == 422, answer.text
    assert "clock" in words(answer.json())
    _refused_and_nothing_stored(api, patient, body, "QuestionnaireResponse.authored")


def test_an_observation_dated_year_1_is_a_4xx_not_a_5xx(api: Api) -> None:
    patient = api.new_patient(HF)
    body = spo2(patient, 84, YEAR_1, identifier=ident())
    _refused_and_nothing_stored(api, patient, body, "Observation.effective[x]")


def test_a_response_authored_in_year_1_is_a_4xx_not_a_5xx(api: Api) -> None:
    patient = api.new_patient(EPI)
    body = epilepsy(patient, 5, YEAR_1, identifier=ident())
    _refused_and_nothing_stored(api, patient, body, "QuestionnaireResponse.authored")


@pytest.mark.parametrize("kind", ["Observation", "QuestionnaireResponse"])
def test_a_date_of_9999_12_31_at_minus_14_hours_is_a_4xx_not_a_5xx(api: Api, kind: str) -> None:
    patient = api.new_patient(HF, EPI)
    if kind == "Observation":
        body, place = spo2(patient, 84, YEAR_9999, identifier=ident()), "Observation.effective[x]"
    else:
        body, place = (
            epilepsy(patient, 5, YEAR_9999, identifier=ident()),
            ("QuestionnaireResponse.authored"),
        )
    _refused_and_nothing_stored(api, patient, body, place)


def test_a_year_9999_date_is_refused_as_ahead_not_as_a_date_before_1900(api: Api) -> None:
    patient = api.new_patient(HF)
    answer = api.send(patient, spo2(patient, 84, YEAR_9999))
    assert 400 <= answer.status_code < 500, answer.text
    said = words(answer.json())
    assert "before 1900" not in said, said  # the device's clock is ahead, not behind


def test_a_red_reading_dated_1970_is_red_on_the_list_but_never_the_newest_over_newer_data(
    api: Api,
) -> None:
    patient = api.new_patient(HF)
    api.created(patient, spo2(patient, 97, ago(1)))
    api.created(patient, spo2(patient, 80, "1970-01-01T08:00:00+01:00"))
    item = api.the_item(patient, HF)
    assert item["level"] == "red", item
    assert "low-oxygen" in rules_of(item)
    assert item["newest"]["level"] == "green", item["newest"]
    assert item["newest"]["at"][:4] != "1970"


def test_a_red_reading_dated_1970_corrected_to_today_stays_red(api: Api) -> None:
    patient = api.new_patient(HF)
    old = api.created(patient, spo2(patient, 80, "1970-01-01T08:00:00+01:00", identifier=ident()))
    answer = api.correct(patient.token, edited(old, effectiveDateTime=ago(1)))
    assert answer.status_code == 200, answer.text
    api.done("Observation", old["id"])
    item = api.the_item(patient, HF)
    assert item["level"] == "red", item
    assert item["newest"]["at"][:4] != "1970"


def test_a_correction_dating_a_red_reading_two_days_ahead_is_422_and_the_red_stays(
    api: Api,
) -> None:
    patient = api.new_patient(HF)
    stored = api.created(patient, spo2(patient, 84, ago(1), identifier=ident()))
    answer = api.correct(patient.token, edited(stored, effectiveDateTime=ahead(48)))
    assert answer.status_code == 422, answer.text
    assert "Observation.effective[x]" in places(answer.json())
    assert api.history("Observation", stored["id"])["total"] == 1
    item = api.the_item(patient, HF)
    assert item["level"] == "red"
    assert item["newest"]["level"] == "red"


def test_enrolling_with_a_follow_up_begun_in_year_1_is_refused_not_a_server_error(
    api: Api,
) -> None:
    patient = api.new_patient()
    for when in (YEAR_1, YEAR_9999):
        answer = api.request(
            "POST",
            f"/api/patients/{patient.id}/enrolments",
            api.clinician,
            body={"pathway": EPI, "enrolled_at": when},
            content_type="application/json",
        )
        assert 400 <= answer.status_code < 500, f"enrolled_at {when}: {answer.status_code}"
    assert api.get(f"/api/patients/{patient.id}/enrolments").json()["enrolments"] == []


def test_a_worklist_cursor_holding_a_year_1_due_time_is_refused_not_a_server_error(
    api: Api,
) -> None:
    for due in (YEAR_1, YEAR_9999):
        raw = json.dumps([0, due, "w-0"]).encode()
        cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        answer = api.get("/api/worklist", {"pathway": HF, "cursor": cursor})
        assert 400 <= answer.status_code < 500, f"cursor with due {due}: {answer.status_code}"
