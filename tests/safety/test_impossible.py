"""API.md "Refused as impossible" and the 415 rule: a reading no body can show is 422
naming the field, a body without a FHIR/JSON Content-Type is 415, and nothing of a refused
request is stored (not even its identifier)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.safety.answers import places, words
from tests.safety.client import Api, Patient
from tests.safety.fhir_builders import (
    HF,
    LOINC,
    ago,
    blood_pressure,
    bundle,
    coding,
    edited,
    ident,
    observation,
    pulse,
    spo2,
    weight,
)


def _glucose(patient: Patient, value: Any, **kw: Any) -> dict[str, Any]:
    return observation(patient, [coding(LOINC, "15074-8")], value, "mmol/L", ago(1), **kw)


def _temperature(patient: Patient, value: Any, unit: str, **kw: Any) -> dict[str, Any]:
    return observation(patient, [coding(LOINC, "8310-5")], value, unit, ago(1), **kw)


IMPOSSIBLE = {
    "spo2 150 %": (lambda p, **kw: spo2(p, 150, ago(1), **kw), "Observation.valueQuantity.value"),
    "weight -80 kg": (
        lambda p, **kw: weight(p, -80, ago(1), **kw),
        "Observation.valueQuantity.value",
    ),
    "weight 0 kg": (lambda p, **kw: weight(p, 0, ago(1), **kw), "Observation.valueQuantity.value"),
    "weight 1800 lb": (
        lambda p, **kw: weight(p, 1800, ago(1), unit="[lb_av]", **kw),
        "Observation.valueQuantity.value",
    ),
    "pulse 1e308 /min": (
        lambda p, **kw: pulse(p, 1e308, ago(1), **kw),
        "Observation.valueQuantity.value",
    ),
    "pulse 0 /min": (lambda p, **kw: pulse(p, 0, ago(1), **kw), "Observation.valueQuantity.value"),
    "glucose 0 mmol/L": (lambda p, **kw: _glucose(p, 0, **kw), "Observation.valueQuantity.value"),
    "systolic 401 mmHg": (
        lambda p, **kw: blood_pressure(p, ago(1), 401, 90, **kw),
        "Observation.component[0].valueQuantity.value",
    ),
    "temperature 50 Cel": (
        lambda p, **kw: _temperature(p, 50, "Cel", **kw),
        "Observation.valueQuantity.value",
    ),
    "temperature 122 degF": (
        lambda p, **kw: _temperature(p, 122, "[degF]", **kw),
        "Observation.valueQuantity.value",
    ),
}


def _nothing_stored(api: Api, patient: Patient, refused: dict[str, Any]) -> None:
    assert api.results(patient) == []
    assert api.items_anywhere(patient) == []
    unrouted = api.get("/api/unrouted").json()["unrouted"]
    assert all(u["patient"] != patient.id for u in unrouted)
    # the identifier is still free: a proper reading under it is a new resource (201)
    proper = spo2(patient, 96, ago(1), identifier=refused["identifier"][0])
    answer = api.send(patient, proper)
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize("case", list(IMPOSSIBLE))
def test_an_impossible_reading_is_refused_422_naming_the_field_and_nothing_is_stored(
    api: Api, case: str
) -> None:
    build, field = IMPOSSIBLE[case]
    patient = api.new_patient(HF)
    body = build(patient, identifier=ident("imp-"))
    answer = api.send(patient, body)
    assert answer.status_code == 422, f"{case}: {answer.status_code} {answer.text}"
    assert field in places(answer.json()), answer.text
    _nothing_stored(api, patient, body)


def test_a_saturation_of_100_percent_is_accepted_and_green(api: Api) -> None:
    patient = api.new_patient(HF)
    api.created(patient, spo2(patient, 100, ago(1)))
    assert api.the_item(patient, HF)["level"] == "green"


def test_a_weight_of_700_kg_is_accepted(api: Api) -> None:
    patient = api.new_patient(HF)
    stored = api.created(patient, weight(patient, 700, ago(1)))
    assert stored["valueQuantity"]["value"] == 700
    assert api.the_item(patient, HF)["level"] == "green"


def test_a_correction_to_an_impossible_value_is_refused_and_the_red_stays(api: Api) -> None:
    patient = api.new_patient(HF)
    stored = api.created(patient, spo2(patient, 84, ago(1), identifier=ident()))
    body = edited(
        stored,
        valueQuantity={
            "value": 150,
            "unit": "%",
            "system": "http://unitsofmeasure.org",
            "code": "%",
        },
    )
    answer = api.correct(patient.token, body)
    assert answer.status_code == 422, answer.text
    assert "Observation.valueQuantity.value" in places(answer.json())
    assert api.history("Observation", stored["id"])["total"] == 1
    assert api.the_item(patient, HF)["level"] == "red"


def test_a_post_without_content_type_is_415_and_nothing_is_stored(api: Api) -> None:
    patient = api.new_patient(HF)
    body = spo2(patient, 84, ago(1), identifier=ident())
    answer = api.send(patient, body, content_type=None)
    assert answer.status_code == 415, answer.text
    assert "Content-Type" in words(answer.json())
    _nothing_stored(api, patient, body)


def test_a_post_sent_as_text_plain_is_415_and_nothing_is_stored(api: Api) -> None:
    patient = api.new_patient(HF)
    body = spo2(patient, 84, ago(1), identifier=ident())
    answer = api.send(patient, body, content_type="text/plain")
    assert answer.status_code == 415, answer.text
    _nothing_stored(api, patient, body)


def test_a_bundle_and_a_correction_without_content_type_are_415(api: Api) -> None:
    patient = api.new_patient(HF)
    red = spo2(patient, 84, ago(1), identifier=ident())
    answer = api.send(patient, bundle("transaction", [red]), content_type=None)
    assert answer.status_code == 415, answer.text
    stored = api.created(patient, spo2(patient, 96, ago(2), identifier=ident()))
    put = api.request(
        "PUT",
        f"/fhir/Observation/{stored['id']}",
        patient.token,
        body=edited(stored, valueQuantity=red["valueQuantity"]),
        content_type=None,
    )
    assert put.status_code == 415, put.text
    assert api.history("Observation", stored["id"])["total"] == 1
    assert api.the_item(patient, HF)["level"] == "green"
    alone = api.send(patient, red)  # the Bundle's reading was not kept
    assert alone.status_code == 201, alone.text
