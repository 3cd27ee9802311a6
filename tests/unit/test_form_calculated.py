"""The patient form's SDC extras (docs/patient-form.md): a quantity answered in its unit,
a read-only item carrying its initial value, and a calculated total as HL7's SDC PHQ-9
writes it (the answers' weights summed), which is left out rather than guessed when the
expression is another or no answer has a weight."""

from __future__ import annotations

from typing import Any

from usecases.patient_form.answers import read_answers, response_items
from usecases.patient_form.items import CALCULATED, Item, parse_items, walk

WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"
ORDINAL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
UCUM = "http://unitsofmeasure.org"
SDC = "http://hl7.org/fhir/StructureDefinition/questionnaire-"


def _choice(link_id: str, weights: list[int | None], url: str = WEIGHT) -> dict[str, Any]:
    options = []
    for n, weight in enumerate(weights):
        option: dict[str, Any] = {"valueCoding": {"system": "urn:x", "code": f"c{n}"}}
        if weight is not None:
            option["extension"] = [{"url": url, "valueInteger": weight}]
        options.append(option)
    return {"linkId": link_id, "type": "choice", "text": link_id, "answerOption": options}


def _total(expression: str, kind: str = "integer") -> dict[str, Any]:
    return {
        "linkId": "total",
        "type": kind,
        "text": "Sum",
        "extension": [{"url": CALCULATED, "valueExpression": {"expression": expression}}],
    }


SUM = "%resource.repeat(item).answer.value.weight().sum()"


def _form(*items: dict[str, Any]) -> list[Item]:
    return parse_items({"resourceType": "Questionnaire", "item": list(items)})


def _send(items: list[Item], **chosen: str) -> list[dict[str, Any]]:
    by_link = {item.link_id: item.field_id for item in walk(items)}
    answers = read_answers(items, {by_link[k]: v for k, v in chosen.items()})
    assert answers.errors == {}
    return response_items(items, answers)


def test_the_weights_of_the_answers_are_summed_into_the_calculated_item() -> None:
    items = _form(
        {"linkId": "g", "type": "group", "text": "G", "item": [_choice("q1", [0, 1, 2, 3])]},
        _choice("q2", [0, 1, 2, 3], url=ORDINAL),
        _choice("difficulty", [None, None]),  # not scored
        _total(SUM),
    )
    (total,) = [i for i in items if i.link_id == "total"]
    assert total.calculated and not total.answerable
    sent = _send(items, q1="2", q2="3", difficulty="1")
    assert sent[-1] == {"linkId": "total", "text": "Sum", "answer": [{"valueInteger": 5}]}
    # an answer the patient typed into the total's field is not taken
    sent = read_answers(items, {total.field_id: "27", items[1].field_id: "0"})
    assert sent.values["total"] == 0


def test_a_quantity_total_carries_its_unit() -> None:
    total = _total(SUM.replace("weight()", "ordinal()"), kind="quantity")
    unit = {"system": UCUM, "code": "{score}", "display": "score"}
    total["extension"].append({"url": f"{SDC}unitOption", "valueCoding": unit})
    items = _form(_choice("q1", [0, 1, 2]), total)
    assert _send(items, q1="2")[-1]["answer"] == [
        {"valueQuantity": {"value": 2.0, "unit": "score", "system": UCUM, "code": "{score}"}}
    ]


def test_no_total_is_made_up() -> None:
    unweighted = _form(_choice("q1", [None, None]), _total(SUM))
    assert [i["linkId"] for i in _send(unweighted, q1="1")] == ["q1"]
    other = _form(_choice("q1", [0, 1]), _total("%resource.item.count()"))
    (total,) = [i for i in other if i.link_id == "total"]
    assert total.formula and not total.calculated and not total.answerable
    assert [i["linkId"] for i in _send(other, q1="1")] == ["q1"]


def test_a_read_only_item_sends_its_initial_value_and_takes_no_answer() -> None:
    items = _form(
        {
            "linkId": "clinic",
            "type": "string",
            "text": "Poliklinikk",
            "readOnly": True,
            "initial": [{"valueString": "Nevrologisk poliklinikk"}],
        },
        {"linkId": "note", "type": "string", "text": "Merknad"},
    )
    clinic = items[0]
    assert clinic.shown_value == "Nevrologisk poliklinikk" and not clinic.answerable
    answers = read_answers(items, {clinic.field_id: "Noe annet", items[1].field_id: "ok"})
    assert response_items(items, answers)[0] == {
        "linkId": "clinic",
        "text": "Poliklinikk",
        "answer": [{"valueString": "Nevrologisk poliklinikk"}],
    }


def test_a_quantity_is_a_number_in_its_unit() -> None:
    kg = {"system": UCUM, "code": "kg", "display": "kg"}
    items = _form(
        {
            "linkId": "weight",
            "type": "quantity",
            "text": "Vekt",
            "extension": [{"url": f"{SDC}unit", "valueCoding": kg}],
        }
    )
    assert items[0].unit_text == "kg"
    bad = read_answers(items, {items[0].field_id: "sytti"})
    assert bad.errors == {items[0].field_id: "Skriv et tall, for eksempel 2,5."}
    assert _send(items, weight="71,5")[0]["answer"] == [
        {"valueQuantity": {"value": 71.5, "unit": "kg", "system": UCUM, "code": "kg"}}
    ]
