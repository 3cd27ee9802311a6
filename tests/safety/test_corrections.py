"""API.md "Corrections": a PUT stores the next version under the same id and triages it
again; different content under a used identifier is 409 (send a PUT), the same content
twice is 200 with the first; a stale If-Match is 412; data never moves to another patient."""

from __future__ import annotations

from tests.safety.answers import kinds_of, places, rules_of, words
from tests.safety.client import Api
from tests.safety.fhir_builders import HF, IDENT_SYSTEM, ago, edited, ident, quantity, spo2


def _value(resource: dict, value: float) -> dict:
    return edited(resource, valueQuantity=quantity(value, "%"))


def test_a_post_reusing_an_identifier_for_different_content_is_409_naming_put_and_changes_nothing(
    api: Api,
) -> None:
    patient = api.new_patient(HF)
    identifier = ident("o-")
    stored = api.created(patient, spo2(patient, 85, ago(1), identifier=identifier))
    answer = api.send(patient, spo2(patient, 97, ago(1), identifier=identifier))
    assert answer.status_code == 409, answer.text
    assert answer.json()["resourceType"] == "OperationOutcome"
    assert "PUT" in words(answer.json())
    assert api.read("Observation", stored["id"])["valueQuantity"]["value"] == 85
    assert api.history("Observation", stored["id"])["total"] == 1
    assert len(api.results(patient)) == 1
    item = api.the_item(patient, HF)
    assert item["level"] == "red"
    assert item["newest"]["level"] == "red"


def test_a_put_correction_is_version_2_under_the_same_id_and_history_lists_both_newest_first(
    api: Api,
) -> None:
    patient = api.new_patient(HF)
    stored = api.created(patient, spo2(patient, 93, ago(1), identifier=ident("o-")))
    answer = api.correct(patient.token, _value(stored, 94))
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == stored["id"]
    assert answer.json()["meta"]["versionId"] == "2"
    assert answer.headers["ETag"] == 'W/"2"'
    history = api.history("Observation", stored["id"])
    assert history["total"] == 2
    versions = [e["resource"] for e in history["entry"]]
    assert [v["meta"]["versionId"] for v in versions] == ["2", "1"]
    assert [v["id"] for v in versions] == [stored["id"]] * 2
    assert [v["valueQuantity"]["value"] for v in versions] == [94, 93]


def test_correcting_a_red_reading_to_a_green_value_keeps_the_item_red_with_a_corrected_reason(
    api: Api,
) -> None:
    patient = api.new_patient(HF)
    stored = api.created(patient, spo2(patient, 80, ago(1), identifier=ident("o-")))
    answer = api.correct(patient.token, _value(stored, 96))
    assert answer.status_code == 200, answer.text
    assert [r["level"] for r in api.done("Observation", stored["id"])["results"]] == ["green"]
    item = api.the_item(patient, HF)
    assert item["level"] == "red", item
    assert "corrected" in kinds_of(item), item["reasons"]
    assert "low-oxygen" in rules_of(item)
    assert item["newest"]["level"] == "green"


def test_correcting_a_green_reading_to_a_red_value_raises_the_item_to_red(api: Api) -> None:
    patient = api.new_patient(HF)
    stored = api.created(patient, spo2(patient, 96, ago(1), identifier=ident("o-")))
    assert api.the_item(patient, HF)["level"] == "green"
    answer = api.correct(patient.token, _value(stored, 82))
    assert answer.status_code == 200, answer.text
    api.done("Observation", stored["id"])
    item = api.the_item(patient, HF)
    assert item["level"] == "red", item
    assert "low-oxygen" in rules_of(item)
    assert item["newest"]["level"] == "red"


def test_a_correction_with_a_stale_if_match_is_412_and_changes_nothing(api: Api) -> None:
    patient = api.new_patient(HF)
    stored = api.created(patient, spo2(patient, 85, ago(1), identifier=ident("o-")))
    first = api.correct(patient.token, _value(stored, 86), headers={"If-Match": 'W/"1"'})
    assert first.status_code == 200, first.text
    api.done("Observation", stored["id"])
    stale = api.correct(patient.token, _value(stored, 97), headers={"If-Match": 'W/"1"'})
    assert stale.status_code == 412, stale.text
    now = api.read("Observation", stored["id"])
    assert now["meta"]["versionId"] == "2"
    assert now["valueQuantity"]["value"] == 86
    assert api.history("Observation", stored["id"])["total"] == 2
    item = api.the_item(patient, HF)
    assert item["level"] == "red"
    assert item["newest"]["level"] == "red"


def test_a_correction_moving_the_reading_to_another_patient_is_422_and_changes_nothing(
    api: Api,
) -> None:
    patient = api.new_patient(HF)
    other = api.new_patient(HF)
    stored = api.created(patient, spo2(patient, 84, ago(1), identifier=ident("o-")))
    moved = edited(stored, subject={"reference": other.ref})
    answer = api.correct(api.clinician, moved)  # an EHR correcting on the patient's behalf
    assert answer.status_code == 422, answer.text
    assert "Observation.subject" in places(answer.json())
    by_patient = api.correct(patient.token, moved)  # a patient may not name another one
    assert 400 <= by_patient.status_code < 500, by_patient.text
    assert api.read("Observation", stored["id"])["subject"]["reference"] == patient.ref
    assert api.history("Observation", stored["id"])["total"] == 1
    assert api.the_item(patient, HF)["level"] == "red"
    assert api.results(other) == []
    assert api.items_anywhere(other) == []


def test_the_same_post_sent_twice_is_200_with_the_same_id_and_one_result(api: Api) -> None:
    patient = api.new_patient(HF)
    reading = spo2(patient, 84, ago(1), identifier=ident("o-"))
    stored = api.created(patient, reading)
    again = api.send(patient, reading)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == stored["id"]
    api.done("Observation", stored["id"])
    mine = [r for r in api.results(patient) if (r["upload"] or {}).get("id") == stored["id"]]
    assert len(mine) == 1, mine
    assert api.the_item(patient, HF)["level"] == "red"


def test_a_correction_by_identifier_reaches_the_same_resource(api: Api) -> None:
    patient = api.new_patient(HF)
    identifier = ident("o-")
    stored = api.created(patient, spo2(patient, 95, ago(1), identifier=identifier))
    body = _value(stored, 83)
    body.pop("id")
    answer = api.correct(
        patient.token,
        body,
        path="/fhir/Observation",
        params={"identifier": f"{IDENT_SYSTEM}|{identifier['value']}"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == stored["id"]
    assert answer.json()["meta"]["versionId"] == "2"
    api.done("Observation", stored["id"])
    assert api.the_item(patient, HF)["level"] == "red"


def test_the_same_correction_sent_twice_stores_one_version_and_one_result(api: Api) -> None:
    patient = api.new_patient(HF)
    stored = api.created(patient, spo2(patient, 95, ago(1), identifier=ident("o-")))
    correction = _value(stored, 84)
    assert api.correct(patient.token, correction).status_code == 200
    api.done("Observation", stored["id"])
    again = api.correct(patient.token, correction)
    assert again.status_code == 200, again.text
    assert again.json()["meta"]["versionId"] == "2"
    api.done("Observation", stored["id"])
    assert api.history("Observation", stored["id"])["total"] == 2
    second = [r for r in api.results(patient) if r["upload"] == {"id": stored["id"], "version": 2}]
    assert len(second) == 1, second
    assert api.the_item(patient, HF)["level"] == "red"


def test_a_correction_to_a_red_value_after_the_item_was_resolved_opens_a_new_red_item(
    api: Api,
) -> None:
    patient = api.new_patient(HF)
    stored = api.created(patient, spo2(patient, 96, ago(1), identifier=ident("o-")))
    green = api.the_item(patient, HF)
    api.act(green, "resolve", {"note": "grønt, ingen kontakt"})
    answer = api.correct(patient.token, _value(stored, 82))
    assert answer.status_code == 200, answer.text
    api.done("Observation", stored["id"])
    item = api.the_item(patient, HF)
    assert item["id"] != green["id"]
    assert item["level"] == "red", item
    assert "low-oxygen" in rules_of(item)
