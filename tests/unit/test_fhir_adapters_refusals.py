"""fhir_adapters: structured refusals, each with its issue code and exact location, that are
valid OperationOutcomes in plain words."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir_samples import glucose_value, glucose_with, sample

from fhir_adapters import (
    FhirInputError,
    OutcomeIssue,
    flatten_response,
    observation_measurements,
    operation_outcome,
    parse_json,
    parse_resource,
    warm_up,
)


def refusal(call: Any) -> FhirInputError:
    with pytest.raises(FhirInputError) as info:
        call()
    return info.value


def only_issue(error: FhirInputError) -> OutcomeIssue:
    assert len(error.issues) == 1, error.issues
    return error.issues[0]


def _qr_string_integer() -> dict[str, Any]:
    qr = sample("QuestionnaireResponse-epilepsy-red.json")
    qr["item"][2]["answer"][0] = {"valueInteger": "3"}
    return qr


def _qr_answer(answer: dict[str, Any]) -> dict[str, Any]:
    qr = sample("QuestionnaireResponse-epilepsy-red.json")
    qr["item"][0]["answer"][0] = answer
    return qr


def _bp_unit(unit: str) -> dict[str, Any]:
    obs = sample("Observation-blood-pressure.json")
    obs["component"][1]["valueQuantity"] = {"value": 54, "unit": unit}
    return obs


REFUSALS: list[tuple[str, Any, str, str]] = [
    ("invalid JSON", lambda: parse_resource(b'{"resourceType": "Patient",'), "structure", ""),
    ("nesting 10000", lambda: parse_json("[" * 10_000 + "]" * 10_000), "structure", ""),
    ("NaN", lambda: parse_json('{"resourceType": "Observation", "x": NaN}'), "structure", ""),
    ("top-level array", lambda: parse_json("[]"), "structure", ""),
    (
        "1e999 is infinite",
        lambda: parse_json('{"resourceType": "Observation", "valueQuantity": {"value": 1e999}}'),
        "structure",
        "Observation.valueQuantity.value",
    ),
    (
        "an answer given twice in one object (the parser would keep the last, 0)",
        lambda: parse_resource(
            '{"resourceType": "QuestionnaireResponse", "status": "completed", "item": ['
            '{"linkId": "seizure-count", "answer": [{"valueInteger": 5, "valueInteger": 0}]}]}'
        ),
        "structure",
        "QuestionnaireResponse.item[0].answer[0].valueInteger",
    ),
    (
        "a top-level element given twice",
        lambda: parse_json('{"resourceType": "Observation", "status": "final", "status": "x"}'),
        "structure",
        "Observation.status",
    ),
    (
        "wrong resourceType",
        lambda: parse_resource(sample("Patient-kari.json"), "Observation"),
        "invalid",
        "resourceType",
    ),
    (
        "unknown resourceType",
        lambda: parse_resource({"resourceType": "Nonsense"}),
        "invalid",
        "resourceType",
    ),
    (
        "missing resourceType",
        lambda: parse_resource({"status": "final"}),
        "required",
        "resourceType",
    ),
    (
        "string as quantity value",
        lambda: parse_resource(glucose_value("107")),
        "value",
        "Observation.valueQuantity.value",
    ),
    (
        "true as valueInteger",
        lambda: parse_resource(_qr_answer({"valueInteger": True})),
        "value",
        "QuestionnaireResponse.item[0].answer[0].valueInteger",
    ),
    (
        "1 as valueBoolean",
        lambda: parse_resource(_qr_answer({"valueBoolean": 1})),
        "value",
        "QuestionnaireResponse.item[0].answer[0].valueBoolean",
    ),
    (
        "fraction as valueInteger",
        lambda: parse_resource(_qr_answer({"valueInteger": 2.5})),
        "value",
        "QuestionnaireResponse.item[0].answer[0].valueInteger",
    ),
    (
        "string as valueInteger",
        lambda: parse_resource(_qr_string_integer()),
        "value",
        "QuestionnaireResponse.item[2].answer[0].valueInteger",
    ),
    (
        "unknown unit",
        lambda: observation_measurements(
            parse_resource(
                glucose_with(
                    valueQuantity={
                        "value": 52,
                        "system": "http://unitsofmeasure.org",
                        "code": "furlong",
                    }
                ),
                "Observation",
            )
        ),
        "value",
        "Observation.valueQuantity.code",
    ),
    (
        "unknown unit text in a component",
        lambda: observation_measurements(parse_resource(_bp_unit("mm Hg?"), "Observation")),
        "value",
        "Observation.component[1].valueQuantity.unit",
    ),
    (
        "missing effective time",
        lambda: observation_measurements(
            parse_resource(glucose_with(effectiveDateTime=None), "Observation")
        ),
        "required",
        "Observation.effective[x]",
    ),
    (
        "naive dateTime",
        lambda: parse_resource(glucose_with(effectiveDateTime="2026-11-20T03:15:00")),
        "value",
        "Observation.effectiveDateTime",
    ),
    (
        "string value on a device reading",
        lambda: observation_measurements(
            parse_resource(glucose_with(valueQuantity=None, valueString="high"), "Observation")
        ),
        "not-supported",
        "Observation.valueString",
    ),
    (
        "comparator",
        lambda: observation_measurements(
            parse_resource(
                glucose_with(valueQuantity={"value": 2.2, "comparator": "<", "unit": "mmol/L"}),
                "Observation",
            )
        ),
        "not-supported",
        "Observation.valueQuantity.comparator",
    ),
    (
        "missing status",
        lambda: parse_resource(glucose_with(status=None)),
        "required",
        "Observation.status",
    ),
    (
        "status outside its required value set",
        lambda: parse_resource(glucose_with(status="banana")),
        "code-invalid",
        "Observation.status",
    ),
    (
        "response status outside its required value set",
        lambda: parse_resource(
            {**sample("QuestionnaireResponse-epilepsy-red.json"), "status": "done"}
        ),
        "code-invalid",
        "QuestionnaireResponse.status",
    ),
    (
        "unknown element",
        lambda: parse_resource(glucose_with(colour="red")),
        "structure",
        "Observation.colour",
    ),
    (
        "JSON text where an object belongs",
        lambda: parse_resource(glucose_with(code='{"coding": [{"code": "x"}]}')),
        "structure",
        "Observation.code",
    ),
]


@pytest.mark.parametrize(
    ("name", "call", "code", "location"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_refusal_has_code_and_exact_location(
    name: str, call: Any, code: str, location: str
) -> None:
    issue = only_issue(refusal(call))
    assert (issue.severity, issue.code, issue.location) == ("error", code, location)


@pytest.mark.parametrize(
    ("name", "call", "code", "location"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_refusal_is_a_valid_operation_outcome_in_plain_words(
    name: str, call: Any, code: str, location: str
) -> None:
    outcome = refusal(call).to_operation_outcome()
    OperationOutcome.model_validate(outcome)  # raises if not valid FHIR
    text = json.dumps(outcome)
    for leak in ("Traceback", "fhir_core", "fhir.resources", "pydantic", "Error", "``"):
        assert leak not in text
    if location:
        assert outcome["issue"][0]["expression"] == [location]


def test_several_problems_are_all_reported_in_document_order() -> None:
    obs = sample("Observation-blood-pressure.json")
    obs["component"][0]["valueQuantity"]["value"] = "86"
    obs["component"][1]["valueQuantity"]["value"] = 54.5
    obs["component"][1]["valueInteger"] = 3
    error = refusal(lambda: parse_resource(obs))
    assert [i.location for i in error.issues] == [
        "Observation.component[0].valueQuantity.value",
        "Observation.component[1]",
    ]
    assert "only one" in error.issues[1].diagnostics


def test_errors_inside_a_bundle_name_the_entry() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": sample("Observation-glucose-mgdl.json"),
                "request": {"method": "POST", "url": "Observation"},
            },
            {"resource": glucose_value("52"), "request": {"method": "POST", "url": "Observation"}},
            {"resource": {"resourceType": "Nope"}, "request": {"method": "POST", "url": "Nope"}},
        ],
    }
    error = refusal(lambda: parse_resource(bundle))
    assert [(i.code, i.location) for i in error.issues] == [
        ("value", "Bundle.entry[1].resource.valueQuantity.value"),
        ("invalid", "Bundle.entry[2].resource.resourceType"),
    ]


def test_valid_integer_and_decimal_forms_are_accepted() -> None:
    qr = sample("QuestionnaireResponse-epilepsy-red.json")
    qr["item"][0]["answer"][0] = {"valueInteger": 5.0}
    assert flatten_response(parse_resource(qr, "QuestionnaireResponse"))["seizure-count"] == 5
    obs = glucose_value(1)
    assert observation_measurements(parse_resource(obs, "Observation")).measurements[0].value == 1.0


def test_operation_outcome_helper_and_error_message() -> None:
    issue = OutcomeIssue("error", "value", "must be a number", "Observation.valueQuantity.value")
    error = FhirInputError([issue])
    assert str(error) == "Observation.valueQuantity.value: must be a number"
    assert isinstance(error, ValueError)
    outcome = operation_outcome([issue, OutcomeIssue("warning", "incomplete", "no value")])
    assert outcome["issue"][1] == {
        "severity": "warning",
        "code": "incomplete",
        "diagnostics": "no value",
    }
    OperationOutcome.model_validate(outcome)
    with pytest.raises(ValueError, match="issue type"):
        OutcomeIssue("error", "made-up", "x")


def test_warm_up_builds_every_model() -> None:
    warm_up()


def test_a_refused_code_names_the_codes_that_are_allowed() -> None:
    issue = only_issue(refusal(lambda: parse_resource(glucose_with(status="Final"))))
    assert "'Final'" in issue.diagnostics and "final, amended" in issue.diagnostics
