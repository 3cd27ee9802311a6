"""A QuestionnaireResponse checked against its Questionnaire (the contract's sample)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from fhir_adapters import parse_resource
from fhir_adapters.questionnaire_check import check_against_questionnaire

FHIR = Path(__file__).resolve().parents[3] / "shared" / "contract" / "fhir"


@pytest.fixture
def questionnaire() -> dict[str, Any]:
    return json.loads((FHIR / "Questionnaire-epilepsy-followup.json").read_text())


@pytest.fixture
def response() -> dict[str, Any]:
    text = (FHIR / "QuestionnaireResponse-epilepsy-red.json").read_text()
    return json.loads(text.replace("{patient-id}", "p-1"))


def problems(response: dict[str, Any], questionnaire: dict[str, Any]) -> list[tuple[str, str]]:
    parse_resource(response)  # the check takes input that already passed validation
    return [(i.code, i.location) for i in check_against_questionnaire(response, questionnaire)]


def test_the_contract_sample_fits_its_questionnaire(response: Any, questionnaire: Any) -> None:
    assert problems(response, questionnaire) == []


def test_an_unknown_link_id_is_refused_at_its_item(response: Any, questionnaire: Any) -> None:
    response["item"][1]["linkId"] = "no-such-question"
    assert problems(response, questionnaire) == [("value", "QuestionnaireResponse.item[1]")]


def test_an_answer_of_the_wrong_type_is_refused(response: Any, questionnaire: Any) -> None:
    response["item"][0]["answer"][0] = {"valueString": "fem"}
    assert problems(response, questionnaire) == [
        ("value", "QuestionnaireResponse.item[0].answer[0].valueString")
    ]


def test_a_choice_outside_the_options_is_refused(response: Any, questionnaire: Any) -> None:
    response["item"][2]["answer"][0]["valueCoding"]["code"] = "terrible"
    assert problems(response, questionnaire) == [
        ("code-invalid", "QuestionnaireResponse.item[2].answer[0].valueCoding")
    ]


def test_a_missing_required_answer_is_refused_when_completed(
    response: Any, questionnaire: Any
) -> None:
    del response["item"][0]
    assert problems(response, questionnaire) == [("required", "QuestionnaireResponse.item")]
    response["status"] = "in-progress"
    assert problems(response, questionnaire) == []


def test_two_answers_to_a_question_that_does_not_repeat(response: Any, questionnaire: Any) -> None:
    response["item"][1]["answer"].append({"valueBoolean": True})
    assert problems(response, questionnaire) == [
        ("structure", "QuestionnaireResponse.item[1].answer")
    ]


def test_nested_items_and_conditional_required_items(questionnaire: Any) -> None:
    q = copy.deepcopy(questionnaire)
    q["item"].append(
        {
            "linkId": "details",
            "type": "group",
            "item": [
                {"linkId": "when", "type": "date", "required": True},
                {
                    "linkId": "why",
                    "type": "string",
                    "required": True,
                    "enableWhen": [
                        {"question": "new-seizure-type", "operator": "=", "answerBoolean": True}
                    ],
                },
            ],
        }
    )
    base = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "item": [{"linkId": "seizure-count", "answer": [{"valueInteger": 0}]}],
    }
    assert problems(base, q) == []  # the group is absent: its children are not required
    with_group = copy.deepcopy(base)
    with_group["item"].append({"linkId": "details", "item": [{"linkId": "why", "answer": []}]})
    with_group["item"][1]["item"][0].pop("answer")
    assert problems(with_group, q) == [("required", "QuestionnaireResponse.item")]
    with_group["item"][1]["item"].append({"linkId": "when", "answer": [{"valueInteger": 3}]})
    assert problems(with_group, q) == [
        ("value", "QuestionnaireResponse.item[1].item[1].answer[0].valueInteger")
    ]
