"""A QuestionnaireResponse checked against its Questionnaire (the contract's sample)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from fhir_adapters import flatten_response, parse_resource, repeated_answers
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


def repeats(response: dict[str, Any], questionnaire: dict[str, Any] | None) -> list[str]:
    parse_resource(response)
    return [i.location for i in repeated_answers(response, questionnaire)]


def test_two_answers_to_a_question_that_does_not_repeat(response: Any, questionnaire: Any) -> None:
    response["item"][1]["answer"].append({"valueBoolean": True})
    (issue,) = repeated_answers(response, questionnaire)
    assert (issue.severity, issue.code) == ("error", "structure")
    assert issue.location == "QuestionnaireResponse.item[1].answer[1]"
    assert "new-seizure-type" in issue.diagnostics and "repeats" in issue.diagnostics
    assert repeats(response, None) == ["QuestionnaireResponse.item[1].answer[1]"]
    # Reported by repeated_answers alone, so a caller running both sees it once.
    assert problems(response, questionnaire) == []


def test_the_same_item_twice_among_siblings(response: Any, questionnaire: Any) -> None:
    response["item"].insert(3, {"linkId": "seizure-count", "answer": [{"valueInteger": 0}]})
    (issue,) = repeated_answers(response, questionnaire)
    assert (issue.code, issue.location) == ("structure", "QuestionnaireResponse.item[3]")
    assert "seizure-count" in issue.diagnostics and "once" in issue.diagnostics
    assert repeats(response, None) == ["QuestionnaireResponse.item[3]"]


def test_the_contract_sample_answers_each_item_once(response: Any, questionnaire: Any) -> None:
    assert repeats(response, questionnaire) == []
    assert repeats(response, None) == []


def test_an_item_marked_repeats_may_have_several_answers(response: Any, questionnaire: Any) -> None:
    questionnaire["item"][1]["repeats"] = True
    response["item"][1]["answer"].append({"valueBoolean": True})
    assert repeats(response, questionnaire) == []
    assert problems(response, questionnaire) == []
    assert repeats(response, None) == ["QuestionnaireResponse.item[1].answer[1]"]
    flat = flatten_response(parse_resource(response, "QuestionnaireResponse"))
    assert flat["new-seizure-type"] == (False, True)


def _medicines() -> dict[str, Any]:
    return {
        "resourceType": "Questionnaire",
        "status": "active",
        "item": [
            {
                "linkId": "medicine",
                "type": "group",
                "repeats": True,
                "item": [
                    {"linkId": "name", "type": "string"},
                    {"linkId": "doses", "type": "integer"},
                ],
            },
            {"linkId": "note", "type": "string"},
        ],
    }


def _medicine(name: str, *doses: int) -> dict[str, Any]:
    return {
        "linkId": "medicine",
        "item": [
            {"linkId": "name", "answer": [{"valueString": name}]},
            {"linkId": "doses", "answer": [{"valueInteger": d} for d in doses]},
        ],
    }


def test_a_repeating_group_may_appear_several_times() -> None:
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "item": [_medicine("A", 1), _medicine("B", 2), _medicine("C", 3)],
    }
    assert repeats(response, _medicines()) == []
    assert problems(response, _medicines()) == []
    assert repeats(response, None) == [
        "QuestionnaireResponse.item[1]",
        "QuestionnaireResponse.item[2]",
    ]
    flat = flatten_response(parse_resource(response, "QuestionnaireResponse"))
    assert flat == {"name": ("A", "B", "C"), "doses": (1, 2, 3)}


def test_inside_a_repeating_group_a_child_still_takes_one_answer() -> None:
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "item": [
            _medicine("A", 1),
            _medicine("B", 2, 4),
            {"linkId": "note", "answer": [{"valueString": "x"}]},
            {"linkId": "note", "answer": [{"valueString": "y"}]},
        ],
    }
    assert repeats(response, _medicines()) == [
        "QuestionnaireResponse.item[1].item[1].answer[1]",
        "QuestionnaireResponse.item[3]",
    ]


def test_repeats_nested_in_answers_are_found_in_document_order() -> None:
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "item": [
            {
                "linkId": "had-fall",
                "answer": [
                    {
                        "valueBoolean": True,
                        "item": [
                            {"linkId": "when", "answer": [{"valueDate": "2026-11-02"}]},
                            {"linkId": "when", "answer": [{"valueDate": "2026-11-03"}]},
                        ],
                    }
                ],
            },
            {"linkId": "had-fall", "answer": [{"valueBoolean": False}]},
        ],
    }
    assert repeats(response, None) == [
        "QuestionnaireResponse.item[0].answer[0].item[1]",
        "QuestionnaireResponse.item[1]",
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


def test_the_same_item_again_at_another_depth_is_refused() -> None:
    """Safety attack: seizure-count 0 at the top and 5 nested under another item's answer."""
    response = {
        "item": [
            {"linkId": "seizure-count", "answer": [{"valueInteger": 0}]},
            {
                "linkId": "side-effects",
                "answer": [
                    {
                        "valueCoding": {"code": "none"},
                        "item": [{"linkId": "seizure-count", "answer": [{"valueInteger": 5}]}],
                    }
                ],
            },
        ]
    }
    (issue,) = repeated_answers(response, None)
    assert issue.location == "QuestionnaireResponse.item[1].answer[0].item[0]"
    assert "seizure-count" in issue.diagnostics and "also at" in issue.diagnostics


def test_items_inside_a_repeating_group_may_come_again_with_it() -> None:
    group = {"linkId": "episode", "item": [{"linkId": "length", "answer": [{"valueInteger": 2}]}]}
    response = {"item": [group, group]}
    questionnaire = {
        "item": [
            {
                "linkId": "episode",
                "type": "group",
                "repeats": True,
                "item": [{"linkId": "length", "type": "integer"}],
            }
        ]
    }
    assert repeated_answers(response, questionnaire) == []
    assert len(repeated_answers(response, None)) == 1  # without the Questionnaire: refused
