"""API.md "Corrections": a correction with status ``entered-in-error`` withdraws the data
(no later evaluation uses it), while the item's level never falls by itself; a withdrawal
sent as a new POST under the same identifier is a conflict, never silently dropped."""

from __future__ import annotations

from tests.safety.answers import kinds_of, rules_of, words
from tests.safety.client import Api
from tests.safety.fhir_builders import COPD, EPI, HF, ago, cat, edited, epilepsy, ident, pulse, spo2


def test_a_withdrawal_sent_as_a_new_post_under_the_same_identifier_is_409_and_changes_nothing(
    api: Api,
) -> None:
    patient = api.new_patient(EPI)
    identifier = ident("qr-")
    red = epilepsy(patient, 5, ago(1), identifier=identifier)
    stored = api.created(patient, red)
    answer = api.send(patient, {**red, "status": "entered-in-error"})
    assert answer.status_code == 409, answer.text
    assert "PUT" in words(answer.json())
    assert api.read("QuestionnaireResponse", stored["id"])["status"] == "completed"
    assert api.history("QuestionnaireResponse", stored["id"])["total"] == 1
    item = api.the_item(patient, EPI)
    assert item["level"] == "red"
    assert "withdrawn" not in kinds_of(item)


def test_a_withdrawal_sent_as_put_keeps_the_red_item_and_adds_a_withdrawn_reason(
    api: Api,
) -> None:
    patient = api.new_patient(EPI)
    stored = api.created(patient, epilepsy(patient, 5, ago(1), identifier=ident("qr-")))
    answer = api.correct(patient.token, edited(stored, status="entered-in-error"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["meta"]["versionId"] == "2"
    api.done("QuestionnaireResponse", stored["id"])
    item = api.the_item(patient, EPI)
    assert item["level"] == "red", item
    assert "withdrawn" in kinds_of(item), item["reasons"]
    assert "many-seizures" in rules_of(item)


def test_withdrawn_answers_are_never_used_again_when_a_later_reading_is_judged(api: Api) -> None:
    patient = api.new_patient(COPD, thresholds={COPD: {"min_oximeter_readings": 0}})
    api.created(patient, cat(patient, 1, ago(3)))  # CAT 8: green
    red = api.created(patient, cat(patient, 5, ago(2), identifier=ident("cat-")))  # CAT 40
    assert api.the_item(patient, COPD)["level"] == "red"
    withdrawn = api.correct(patient.token, edited(red, status="entered-in-error"))
    assert withdrawn.status_code == 200, withdrawn.text
    api.done("QuestionnaireResponse", red["id"])
    later = api.created(patient, spo2(patient, 95, ago(1)))
    # judged with the answers of its own time: the CAT of 8, never the withdrawn 40
    assert [r["level"] for r in api.done("Observation", later["id"])["results"]] == ["green"]
    [result] = [r for r in api.results(patient) if (r["upload"] or {}).get("id") == later["id"]]
    assert "cat-very-high" not in rules_of(result)
    assert {"resourceType": "QuestionnaireResponse", "id": red["id"]} not in result["source"]
    item = api.the_item(patient, COPD)
    assert item["level"] == "red"
    assert "withdrawn" in kinds_of(item)
    assert item["newest"]["level"] == "green"


def test_a_withdrawn_low_reading_is_never_used_again_when_a_later_reading_is_judged(
    api: Api,
) -> None:
    patient = api.new_patient(HF)
    low = api.created(patient, spo2(patient, 80, ago(2), identifier=ident("o-")))
    withdrawn = api.correct(patient.token, edited(low, status="entered-in-error"))
    assert withdrawn.status_code == 200, withdrawn.text
    api.done("Observation", low["id"])
    later = api.created(patient, pulse(patient, 70, ago(1)))
    # the newest saturation at that time would be the withdrawn 80: never used
    assert [r["level"] for r in api.done("Observation", later["id"])["results"]] == ["green"]
    item = api.the_item(patient, HF)
    assert item["level"] == "red", item  # the level held since the item opened
    assert "withdrawn" in kinds_of(item)
    assert item["newest"]["level"] == "green"


def test_resending_the_original_post_after_a_withdrawal_does_not_bring_the_data_back(
    api: Api,
) -> None:
    patient = api.new_patient(EPI)
    red = epilepsy(patient, 5, ago(1), identifier=ident("qr-"))
    stored = api.created(patient, red)
    api.correct(patient.token, edited(stored, status="entered-in-error"))
    api.done("QuestionnaireResponse", stored["id"])
    results = len(api.results(patient))
    again = api.send(patient, red)  # a phone re-sending what it sent first
    assert again.status_code == 200, again.text
    assert again.json()["id"] == stored["id"]
    assert again.json()["status"] == "entered-in-error"
    assert again.json()["meta"]["versionId"] == "2"
    assert api.history("QuestionnaireResponse", stored["id"])["total"] == 2
    assert len(api.results(patient)) == results
    assert api.the_item(patient, EPI)["level"] == "red"


def test_a_withdrawn_red_response_put_back_after_the_item_was_resolved_is_red_again(
    api: Api,
) -> None:
    patient = api.new_patient(EPI)
    stored = api.created(patient, epilepsy(patient, 5, ago(1), identifier=ident("qr-")))
    api.correct(patient.token, edited(stored, status="entered-in-error"))
    api.done("QuestionnaireResponse", stored["id"])
    first = api.the_item(patient, EPI)
    api.act(first, "resolve", {"note": "sendt ved en feil"})
    back = api.correct(patient.token, edited(stored, status="amended"))  # it was right after all
    assert back.status_code == 200, back.text
    assert back.json()["meta"]["versionId"] == "3"
    api.done("QuestionnaireResponse", stored["id"])
    item = api.the_item(patient, EPI)
    assert item["id"] != first["id"]
    assert item["level"] == "red", item
    assert "many-seizures" in rules_of(item)
