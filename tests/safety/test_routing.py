"""API.md "Routing": an Observation is read by a pathway when ANY coding of its code (or of
a component's code) is one the pathway names; a response's form may be named by canonical
URL (with or without ``|version``) or ``Questionnaire/{id}``; no form named is 422; a form
no pathway reads from an enrolled patient lands on each of their lists as yellow."""

from __future__ import annotations

import uuid

from tests.safety.answers import kinds_of, places, rules_of
from tests.safety.client import Api, Patient
from tests.safety.fhir_builders import (
    COPD,
    DIASTOLIC,
    EPI,
    EPILEPSY,
    FORMS,
    HF,
    HTN,
    LOINC,
    SNOMED,
    ago,
    blood_pressure,
    coding,
    epilepsy,
    ident,
    observation,
    response,
    spo2,
)


def _nothing_stored(api: Api, patient: Patient) -> None:
    assert api.results(patient) == []
    assert api.items_anywhere(patient) == []


def test_spo2_coded_snomed_first_and_loinc_second_is_routed_and_red_at_84(api: Api) -> None:
    patient = api.new_patient(HF)
    codings = [coding(SNOMED, "431314004"), coding(LOINC, "59408-5")]
    api.created(patient, observation(patient, codings, 84, "%", ago(1)))
    item = api.the_item(patient, HF)
    assert item["level"] == "red", item
    assert "low-oxygen" in rules_of(item)


def test_a_bp_panel_coded_snomed_first_is_routed_to_hypertension_and_red(api: Api) -> None:
    patient = api.new_patient(HTN)
    panel = [coding(SNOMED, "75367002"), coding(LOINC, "85354-9")]
    systolic = [coding(SNOMED, "271649006"), coding(LOINC, "8480-6")]
    reading = blood_pressure(patient, ago(1), 200, 95, panel=panel, systolic_codings=systolic)
    assert reading["component"][1]["code"]["coding"] == DIASTOLIC
    api.created(patient, reading)
    item = api.the_item(patient, HTN)
    assert item["level"] == "red", item
    assert "severe-hypertension" in rules_of(item)


def test_a_response_naming_its_form_as_questionnaire_slash_id_is_routed_by_its_canonical_url(
    api: Api,
) -> None:
    found = api.get("/fhir/Questionnaire", {"url": EPILEPSY}).json()
    assert found["total"] >= 1, found
    form_id = found["entry"][0]["resource"]["id"]
    patient = api.new_patient(EPI)
    api.created(patient, epilepsy(patient, 5, ago(1), questionnaire=f"Questionnaire/{form_id}"))
    item = api.the_item(patient, EPI)
    assert item["level"] == "red", item
    assert "many-seizures" in rules_of(item)


def test_a_response_naming_its_form_with_a_version_suffix_is_routed(api: Api) -> None:
    patient = api.new_patient(EPI)
    api.created(patient, epilepsy(patient, 5, ago(1), questionnaire=f"{EPILEPSY}|1"))
    assert api.the_item(patient, EPI)["level"] == "red"


def test_a_response_without_questionnaire_is_422_and_nothing_is_stored(api: Api) -> None:
    patient = api.new_patient(EPI)
    body = epilepsy(patient, 5, ago(1))
    del body["questionnaire"]
    answer = api.send(patient, body)
    assert answer.status_code == 422, answer.text
    assert "QuestionnaireResponse.questionnaire" in places(answer.json())
    _nothing_stored(api, patient)


def test_a_response_naming_a_stored_questionnaire_that_does_not_exist_is_422(api: Api) -> None:
    patient = api.new_patient(EPI)
    answer = api.send(
        patient, epilepsy(patient, 5, ago(1), questionnaire="Questionnaire/does-not-exist")
    )
    assert answer.status_code == 422, answer.text
    assert "QuestionnaireResponse.questionnaire" in places(answer.json())
    _nothing_stored(api, patient)


def test_a_form_no_pathway_reads_puts_an_enrolled_patient_on_each_list_as_yellow_and_unrouted(
    api: Api,
) -> None:
    patient = api.new_patient(HF, EPI)
    form = f"{FORMS}safety-no-pathway-{uuid.uuid4().hex[:8]}"
    answers = [("how-are-you", [{"valueString": "Jeg har hatt brystsmerter i natt"}])]
    stored = api.created(patient, response(patient, form, answers, ago(1), identifier=ident()))
    for pathway in (HF, EPI):
        item = api.the_item(patient, pathway)
        assert item["level"] == "yellow", (pathway, item)
        assert "unread-form" in kinds_of(item), item["reasons"]
        assert {"resourceType": "QuestionnaireResponse", "id": stored["id"]} in item["source"]
    unrouted = api.get("/api/unrouted").json()["unrouted"]
    mine = [u for u in unrouted if u["id"] == stored["id"]]
    assert mine and mine[0]["patient"] == patient.id, unrouted[:3]
    assert mine[0]["questionnaire"] == form


def test_a_low_reading_from_a_patient_enrolled_nowhere_is_red_on_every_pathway_reading_it(
    api: Api,
) -> None:
    patient = api.new_patient()
    api.created(patient, spo2(patient, 84, ago(1)))
    levels = {i["pathway"]: i["level"] for i in api.items_anywhere(patient)}
    assert levels == {HF: "red", COPD: "red"}, levels


def test_a_low_reading_after_the_follow_up_ended_is_still_red_on_a_list(api: Api) -> None:
    patient = api.new_patient(HF)
    ended = api.request("DELETE", f"/api/patients/{patient.id}/enrolments/{HF}", api.clinician)
    assert ended.status_code == 200, ended.text
    api.created(patient, spo2(patient, 84, ago(1)))
    levels = {i["pathway"]: i["level"] for i in api.items_anywhere(patient)}
    assert levels.get(HF) == "red", levels
