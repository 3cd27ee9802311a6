"""API.md "A questionnaire answered twice": an item answered more than once (two answers,
or the same linkId twice among siblings) is refused and nothing is stored, unless the
stored Questionnaire marks that item ``repeats: true``; then the worst answer counts."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from seeds.questionnaires import PHQ9 as PHQ9_URL
from seeds.questionnaires import questionnaires
from tests.safety.answers import places, rules_of
from tests.safety.client import Api, Patient
from tests.safety.fhir_builders import (
    DEP,
    EPI,
    LOINC,
    NEARLY_EVERY_DAY,
    NOT_AT_ALL,
    ago,
    choice,
    epilepsy,
    ident,
    integer,
    phq9,
)


def _nothing_stored(api: Api, patient: Patient, identifier: dict[str, str]) -> None:
    """No result, no item, nothing unrouted; and the identifier is still free: posting a
    proper response under it now creates a new resource (201, not 200 or 409)."""
    assert api.results(patient) == []
    assert api.items_anywhere(patient) == []
    unrouted = api.get("/api/unrouted").json()["unrouted"]
    assert all(u["patient"] != patient.id for u in unrouted)
    fresh = api.send(patient, phq9(patient, ago(0, 5), identifier=identifier))
    assert fresh.status_code == 201, fresh.text


def test_phq9_item_9_answered_not_at_all_and_nearly_every_day_is_refused_naming_the_place(
    api: Api,
) -> None:
    patient = api.new_patient(DEP)
    identifier = ident("phq9-")
    twice = phq9(
        patient, ago(1), item9=choice(LOINC, NOT_AT_ALL, NEARLY_EVERY_DAY), identifier=identifier
    )
    answer = api.send(patient, twice)
    assert answer.status_code == 422, answer.text
    assert "QuestionnaireResponse.item[8].answer[1]" in places(answer.json())
    _nothing_stored(api, patient, identifier)


def test_phq9_item_9_given_twice_as_siblings_is_refused_naming_the_second(api: Api) -> None:
    patient = api.new_patient(DEP)
    identifier = ident("phq9-")
    body = phq9(patient, ago(1), identifier=identifier)
    # "not at all" in item[8], then item 9 again with "nearly every day" as item[9]
    body["item"].insert(9, {"linkId": "phq9-9", "answer": choice(LOINC, NEARLY_EVERY_DAY)})
    answer = api.send(patient, body)
    assert answer.status_code == 422, answer.text
    assert "QuestionnaireResponse.item[9]" in places(answer.json())
    _nothing_stored(api, patient, identifier)


def _phq9_with_repeating_item_9(version: str) -> dict[str, Any]:
    [form] = [q for q in questionnaires() if q["url"] == PHQ9_URL]
    form = copy.deepcopy(form)
    form["version"] = version
    for item in form["item"]:
        if item["linkId"] == "phq9-9":
            item["repeats"] = True
    return form


def test_a_stored_questionnaire_letting_item_9_repeat_accepts_both_answers_and_the_worst_counts(
    api: Api,
) -> None:
    version = f"safety-repeats-{uuid.uuid4().hex[:8]}"
    posted = api.request(
        "POST", "/fhir/Questionnaire", api.author, body=_phq9_with_repeating_item_9(version)
    )
    assert posted.status_code == 201, posted.text
    patient = api.new_patient(DEP)
    both = phq9(
        patient,
        ago(1),
        item9=choice(LOINC, NOT_AT_ALL, NEARLY_EVERY_DAY),
        questionnaire=f"{PHQ9_URL}|{version}",
    )
    stored = api.created(patient, both)
    assert len(stored["item"][8]["answer"]) == 2
    item = api.the_item(patient, DEP)
    assert item["level"] == "red", item
    assert "self-harm-thoughts" in rules_of(item)


def test_a_seizure_count_answered_again_inside_another_item_is_refused_or_the_worst_counts(
    api: Api,
) -> None:
    # "0 seizures" at the top and "5" nested under another item's answer: the same item
    # answered twice (RULES.md: refused on arrival, "never a first answer that hides a
    # second"). Refused, or red on the list; 5 seizures must never end up below red.
    patient = api.new_patient(EPI)
    body = epilepsy(patient, 0, ago(1))
    body["item"][1]["answer"][0]["item"] = [{"linkId": "seizure-count", "answer": integer(5)}]
    answer = api.send(patient, body)
    if answer.status_code == 422:
        assert any("seizure-count" in w or "item[1]" in w for w in places(answer.json()))
        return
    assert answer.status_code == 201, answer.text
    api.done("QuestionnaireResponse", answer.json()["id"])
    item = api.the_item(patient, EPI)
    assert item["level"] == "red", (item["level"], item["reasons"])
