"""API.md "Corrections": a resource that *arrives* ``entered-in-error`` or ``cancelled`` is
stored and shown, never used as data; an Observation without a value (``dataAbsentReason``)
is no reading: never a green by default, yellow with the reason."""

from __future__ import annotations

import pytest

from tests.safety.answers import kinds_of, rules_of
from tests.safety.client import Api
from tests.safety.fhir_builders import EPI, HF, HTN, ago, blood_pressure, epilepsy, pulse, spo2


@pytest.mark.parametrize("status", ["cancelled", "entered-in-error"])
def test_an_spo2_of_80_arriving_with_a_status_that_is_no_reading_is_stored_yellow_never_used(
    api: Api, status: str
) -> None:
    patient = api.new_patient(HF)
    stored = api.created(patient, spo2(patient, 80, ago(2), status=status))
    assert api.read("Observation", stored["id"])["status"] == status
    item = api.the_item(patient, HF)
    assert item["level"] == "yellow", item  # a person looks, but 80 % was never a reading
    assert "no-reading" in kinds_of(item), item["reasons"]
    assert "low-oxygen" not in rules_of(item)
    later = api.created(patient, pulse(patient, 70, ago(1)))
    # the newest saturation as of the pulse would be that 80: it is no data at all
    assert [r["level"] for r in api.done("Observation", later["id"])["results"]] == ["green"]
    assert api.the_item(patient, HF)["level"] == "yellow"


def test_a_bp_component_with_a_data_absent_reason_is_yellow_not_green(api: Api) -> None:
    patient = api.new_patient(HTN, thresholds={HTN: {"min_readings": 1}})
    api.created(patient, blood_pressure(patient, ago(1), systolic=120, absent="diastolic"))
    item = api.the_item(patient, HTN)
    assert item["level"] == "yellow", item
    assert "no-reading" in kinds_of(item), item["reasons"]


def test_a_response_arriving_entered_in_error_is_stored_yellow_and_its_answers_never_used(
    api: Api,
) -> None:
    patient = api.new_patient(EPI)
    stored = api.created(patient, epilepsy(patient, 5, ago(1), status="entered-in-error"))
    assert api.read("QuestionnaireResponse", stored["id"])["status"] == "entered-in-error"
    item = api.the_item(patient, EPI)
    assert item["level"] == "yellow", item
    assert "many-seizures" not in rules_of(item)
    assert "not-data" in kinds_of(item), item["reasons"]
