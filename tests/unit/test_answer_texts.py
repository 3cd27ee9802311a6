"""fhir_adapters.answer_texts: the answers as the patient saw them, for clinicians."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_adapters import AnswerText, answer_texts, parse_resource
from seeds.questionnaires import FREQUENCY, LOINC, PHQ9, PHQ9_TEXT, questionnaires

FHIR = Path(__file__).resolve().parents[3] / "shared" / "contract" / "fhir"


def _json(name: str) -> dict[str, Any]:
    text = (FHIR / name).read_text(encoding="utf-8").replace("{patient-id}", "p-1")
    data: dict[str, Any] = json.loads(text)
    return data


@pytest.fixture
def questionnaire() -> dict[str, Any]:
    return _json("Questionnaire-epilepsy-followup.json")


@pytest.fixture
def response() -> dict[str, Any]:
    return _json("QuestionnaireResponse-epilepsy-red.json")


def _response(items: list[dict[str, Any]]) -> dict[str, Any]:
    qr = {"resourceType": "QuestionnaireResponse", "status": "completed", "item": items}
    parse_resource(qr)  # the function takes responses that passed validation
    return qr


def test_the_contract_sample_as_the_patient_saw_it(response: Any, questionnaire: Any) -> None:
    assert answer_texts(response, questionnaire) == [
        AnswerText("seizure-count", "Hvor mange anfall har du hatt siden sist?", ("5",), (None,)),
        AnswerText("new-seizure-type", "Har du fått en ny type anfall?", ("false",), (None,)),
        AnswerText("side-effects", "Har du bivirkninger av medisinene?", ("Plagsomme",), ("mild",)),
        AnswerText("wants-contact", "Ønsker du å bli kontaktet av sykehuset?", ("false",), (None,)),
    ]


def test_without_the_questionnaire_the_link_id_and_code_are_shown(response: Any) -> None:
    shown = answer_texts(response, None)
    assert [(a.link_id, a.question, a.answers) for a in shown] == [
        ("seizure-count", "seizure-count", ("5",)),
        ("new-seizure-type", "new-seizure-type", ("false",)),
        ("side-effects", "side-effects", ("mild",)),
        ("wants-contact", "wants-contact", ("false",)),
    ]


def test_the_display_sent_wins_and_the_system_must_match(response: Any, questionnaire: Any) -> None:
    coding = response["item"][2]["answer"][0]["valueCoding"]
    coding["display"] = "Litt plagsomme"
    assert answer_texts(response, questionnaire)[2].answers == ("Litt plagsomme",)
    del coding["display"]
    coding["system"] = "http://example.no/other"
    assert answer_texts(response, questionnaire)[2].answers == ("mild",)
    del coding["system"]
    assert answer_texts(response, questionnaire)[2].answers == ("Plagsomme",)


def test_phq9_loinc_answers_show_their_words() -> None:
    (phq9,) = [q for q in questionnaires() if q["url"] == PHQ9]
    qr = _response(
        [
            {"linkId": f"phq9-{n}", "answer": [{"valueCoding": {"system": LOINC, "code": code}}]}
            for n, (code, _) in enumerate(FREQUENCY * 2 + FREQUENCY[:1], start=1)
        ]
    )
    shown = answer_texts(qr, phq9)
    assert [a.question for a in shown] == list(PHQ9_TEXT)
    assert shown[2].answers == ("Mer enn halvparten av dagene",)
    assert shown[2].codes == ("LA6570-1",)
    assert all("LA" not in a.answers[0] for a in shown)


def test_every_kind_of_answer_is_shown() -> None:
    qr = _response(
        [
            {"linkId": "int", "text": "Heltall", "answer": [{"valueInteger": 3}]},
            {"linkId": "dec", "answer": [{"valueDecimal": 72.5}, {"valueDecimal": 5.0}]},
            {"linkId": "yes", "answer": [{"valueBoolean": True}]},
            {"linkId": "day", "answer": [{"valueDate": "2026-11-02"}]},
            {"linkId": "at", "answer": [{"valueDateTime": "2026-11-20T10:00:00+01:00"}]},
            {"linkId": "time", "answer": [{"valueTime": "22:30:00"}]},
            {"linkId": "dose", "answer": [{"valueQuantity": {"value": 0.25, "unit": "mg"}}]},
            {"linkId": "bare", "answer": [{"valueQuantity": {"value": 2}}]},
            {"linkId": "note", "answer": [{"valueString": "ok"}]},
            {"linkId": "uri", "answer": [{"valueUri": "http://example.no/x"}]},
            {"linkId": "who", "answer": [{"valueReference": {"reference": "Patient/p-1"}}]},
            {"linkId": "pic", "answer": [{"valueAttachment": {"title": "bilde.png"}}]},
            {"linkId": "odd", "answer": [{"valueCoding": {"system": "http://x"}}]},
            {"linkId": "none"},
        ]
    )
    shown = {a.link_id: (a.question, a.answers, a.codes) for a in answer_texts(qr, None)}
    assert shown == {
        "int": ("Heltall", ("3",), (None,)),
        "dec": ("dec", ("72.5", "5.0"), (None, None)),
        "yes": ("yes", ("true",), (None,)),
        "day": ("day", ("2026-11-02",), (None,)),
        "at": ("at", ("2026-11-20T10:00:00+01:00",), (None,)),
        "time": ("time", ("22:30:00",), (None,)),
        "dose": ("dose", ("0.25 mg",), (None,)),
        "bare": ("bare", ("2",), (None,)),
        "note": ("note", ("ok",), (None,)),
        "uri": ("uri", ("http://example.no/x",), (None,)),
        "who": ("who", ("Patient/p-1",), (None,)),
        "pic": ("pic", ("bilde.png",), (None,)),
    }


def test_nested_items_come_in_document_order_and_groups_each_time() -> None:
    qr = _response(
        [
            {
                "linkId": "had-fall",
                "answer": [
                    {
                        "valueBoolean": True,
                        "item": [{"linkId": "fall-date", "answer": [{"valueDate": "2026-11-02"}]}],
                    }
                ],
            },
            {"linkId": "med", "item": [{"linkId": "name", "answer": [{"valueString": "A"}]}]},
            {"linkId": "med", "item": [{"linkId": "name", "answer": [{"valueString": "B"}]}]},
        ]
    )
    shown = [(a.link_id, a.answers) for a in answer_texts(qr, None)]
    assert shown == [
        ("had-fall", ("true",)),
        ("fall-date", ("2026-11-02",)),
        ("name", ("A",)),
        ("name", ("B",)),
    ]


def test_options_in_a_contained_value_set_are_shown(questionnaire: Any, response: Any) -> None:
    q = copy.deepcopy(questionnaire)
    item = q["item"][2]
    system = item["answerOption"][0]["valueCoding"]["system"]
    del item["answerOption"]
    item["answerValueSet"] = "#effects"
    q["contained"] = [
        {
            "resourceType": "ValueSet",
            "id": "effects",
            "status": "active",
            "compose": {"include": [{"system": system, "concept": [{"code": "mild"}]}]},
            "expansion": {
                "timestamp": "2026-01-01T00:00:00Z",
                "contains": [{"system": system, "code": "mild", "display": "Plagsomme"}],
            },
        }
    ]
    parse_resource(q)
    assert answer_texts(response, q)[2].answers == ("Plagsomme",)
    q["contained"][0].pop("expansion")
    q["contained"][0]["compose"]["include"][0]["concept"][0]["display"] = "Noe plagsomme"
    assert answer_texts(response, q)[2].answers == ("Noe plagsomme",)
    item["answerValueSet"] = "http://example.no/fhir/ValueSet/effects"  # not expanded here
    assert answer_texts(response, q)[2].answers == ("mild",)


def test_an_answer_text_is_frozen() -> None:
    text = AnswerText("a", "A?", ("1",), (None,))
    with pytest.raises(dataclasses.FrozenInstanceError):
        text.link_id = "b"  # type: ignore[misc]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=15,
)
_KEYS = st.sampled_from(
    ["item", "answer", "linkId", "text", "valueCoding", "valueQuantity", "code", "display",
     "answerOption", "answerValueSet", "contained", "system", "value"]
)  # fmt: skip
_SHAPED = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_KEYS, _SHAPED | _JSON), st.none() | st.dictionaries(_KEYS, _SHAPED))
def test_it_never_raises(response: dict[str, Any], questionnaire: dict[str, Any] | None) -> None:
    for shown in answer_texts(response, questionnaire):
        assert all(isinstance(a, str) for a in shown.answers)
        assert len(shown.answers) == len(shown.codes) > 0
