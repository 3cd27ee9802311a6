"""fhir_adapters: parsing, flattening, readings and structured refusals."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome
from hypothesis import given, settings
from hypothesis import strategies as st

import triage
from fhir_adapters import (
    FhirInputError,
    OutcomeIssue,
    flatten_response,
    observation_measurements,
    operation_outcome,
    parse_json,
    parse_resource,
    plausibility_problems,
    reference_id,
    response_questionnaire_url,
    response_subject_reference,
    warm_up,
)
from triage.readings import Measurement

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO.parent / "shared" / "contract" / "fhir"
CET = dt.timezone(dt.timedelta(hours=1))
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"


def sample(name: str) -> dict[str, Any]:
    text = (SAMPLES / name).read_text(encoding="utf-8").replace("{patient-id}", "p-1")
    data: dict[str, Any] = json.loads(text)
    return data


def refusal(call: Any) -> FhirInputError:
    with pytest.raises(FhirInputError) as info:
        call()
    return info.value


def only_issue(error: FhirInputError) -> OutcomeIssue:
    assert len(error.issues) == 1, error.issues
    return error.issues[0]


# --- contract samples ---------------------------------------------------------------------


def test_contract_samples_are_there() -> None:
    assert len(list(SAMPLES.glob("*.json"))) >= 5


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_every_contract_sample_parses(path: Path) -> None:
    data = sample(path.name)
    resource = parse_resource(json.dumps(data).encode())
    assert resource.get_resource_type() == path.name.split("-")[0]


def test_epilepsy_response_flattens_to_typed_answers() -> None:
    qr = parse_resource(sample("QuestionnaireResponse-epilepsy-red.json"), "QuestionnaireResponse")
    answers = flatten_response(qr)
    assert answers == {
        "seizure-count": 5,
        "new-seizure-type": False,
        "side-effects": "mild",
        "wants-contact": False,
    }
    assert type(answers["seizure-count"]) is int
    assert (
        response_questionnaire_url(qr) == "http://example.no/fhir/Questionnaire/epilepsy-followup"
    )
    assert response_subject_reference(qr) == "Patient/p-1"


def test_glucose_observation_gives_one_aware_measurement() -> None:
    data = observation_measurements(
        parse_resource(sample("Observation-glucose-mgdl.json"), "Observation")
    )
    expected_time = dt.datetime(2026, 11, 20, 3, 15, tzinfo=CET)
    assert data.measurements == [Measurement(f"{LOINC}|2339-0", 52.0, "mg/dL", expected_time)]
    assert data.measurements[0].time.utcoffset() == dt.timedelta(hours=1)
    assert (data.status, data.code, data.not_readings) == ("final", f"{LOINC}|2339-0", [])


def test_blood_pressure_panel_gives_one_measurement_per_component() -> None:
    data = observation_measurements(
        parse_resource(sample("Observation-blood-pressure.json"), "Observation")
    )
    by_code = {m.code: m for m in data.measurements}
    assert set(by_code) == {f"{LOINC}|8480-6", f"{LOINC}|8462-4"}
    assert by_code[f"{LOINC}|8480-6"].value == 86
    assert by_code[f"{LOINC}|8462-4"].value == 54
    assert {m.panel for m in data.measurements} == {f"{LOINC}|85354-9"}
    assert {m.unit for m in data.measurements} == {"mm[Hg]"}


# --- QuestionnaireResponse ----------------------------------------------------------------


def qr_with(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "QuestionnaireResponse", "status": "completed", "item": items}


def test_nested_items_and_typed_values() -> None:
    items: list[dict[str, Any]] = [
        {
            "linkId": "group",
            "item": [
                {"linkId": "weight", "answer": [{"valueDecimal": 72.5}]},
                {"linkId": "unanswered"},
                {
                    "linkId": "had-fall",
                    "answer": [
                        {
                            "valueBoolean": True,
                            "item": [
                                {"linkId": "fall-date", "answer": [{"valueDate": "2026-11-02"}]}
                            ],
                        }
                    ],
                },
            ],
        },
        {"linkId": "when", "answer": [{"valueDateTime": "2026-11-20T10:00:00+01:00"}]},
        {"linkId": "day", "answer": [{"valueDateTime": "2026-11-19"}]},
        {"linkId": "month", "answer": [{"valueDate": "2026-11"}]},
        {"linkId": "bedtime", "answer": [{"valueTime": "22:30:00"}]},
        {"linkId": "dose", "answer": [{"valueQuantity": {"value": 0.25, "unit": "mg"}}]},
        {"linkId": "link", "answer": [{"valueUri": "http://example.no/x"}]},
        {"linkId": "note", "answer": [{"valueString": "ok"}]},
        {"linkId": "weight", "answer": [{"valueDecimal": 99}]},  # a second time: both kept
    ]
    answers = flatten_response(parse_resource(qr_with(items), "QuestionnaireResponse"))
    assert answers == {
        "weight": (Decimal("72.5"), Decimal("99")),
        "had-fall": True,
        "fall-date": dt.date(2026, 11, 2),
        "when": dt.datetime(2026, 11, 20, 10, tzinfo=CET),
        "day": dt.date(2026, 11, 19),
        "month": "2026-11",
        "bedtime": "22:30:00",
        "dose": Decimal("0.25"),
        "link": "http://example.no/x",
        "note": "ok",
    }
    assert "unanswered" not in answers and "group" not in answers
    weights = answers["weight"]
    assert isinstance(weights, tuple) and all(isinstance(w, Decimal) for w in weights)
    when = answers["when"]
    assert isinstance(when, dt.datetime) and when.utcoffset() == dt.timedelta(hours=1)


def test_an_unanswered_first_occurrence_does_not_hide_a_later_answer() -> None:
    items: list[dict[str, Any]] = [
        {"linkId": "a"},
        {"linkId": "g", "item": [{"linkId": "a", "answer": [{"valueInteger": 2}]}]},
    ]
    assert flatten_response(parse_resource(qr_with(items), "QuestionnaireResponse")) == {"a": 2}


_LINK_IDS = st.sampled_from(["a", "b", "c", "d", "e", "f"])
_VALUES = st.one_of(
    st.builds(lambda v: {"valueInteger": v}, st.integers(-(2**31), 2**31 - 1)),
    st.builds(lambda v: {"valueBoolean": v}, st.booleans()),
    st.builds(lambda v: {"valueString": v}, st.text(min_size=1, max_size=5).filter(str.strip)),
    st.builds(lambda v: {"valueCoding": {"code": v}}, st.sampled_from(["x", "y"])),
)


def _items(children: st.SearchStrategy[list[dict[str, Any]]]) -> st.SearchStrategy[Any]:
    answer = st.builds(
        lambda value, nested: {**value, **({"item": nested} if nested else {})}, _VALUES, children
    )
    item = st.builds(
        lambda link, answers, nested: {
            "linkId": link,
            **({"answer": answers} if answers else {}),
            **({"item": nested} if nested else {}),
        },
        _LINK_IDS,
        st.lists(answer, max_size=2),
        children,
    )
    return st.lists(item, max_size=3)


_TREES: st.SearchStrategy[list[dict[str, Any]]] = st.recursive(st.just([]), _items, max_leaves=12)


def _answered(items: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    for item in items:
        for answer in item.get("answer", []):
            found.append((item["linkId"], answer))
            found.extend(_answered(answer.get("item", [])))
        found.extend(_answered(item.get("item", [])))
    return found


@settings(max_examples=150, deadline=None)
@given(_TREES)
def test_flatten_finds_every_answer_of_every_link_id(items: list[dict[str, Any]]) -> None:
    answers = flatten_response(parse_resource(qr_with(items), "QuestionnaireResponse"))
    answered = _answered(items)
    assert set(answers) == {link for link, _ in answered}
    every: dict[str, list[Any]] = {}
    for link, answer in answered:
        raw = answer.get("valueInteger", answer.get("valueBoolean", answer.get("valueString")))
        every.setdefault(link, []).append(raw if raw is not None else answer["valueCoding"]["code"])
    for link, values in every.items():
        expected = values[0] if len(values) == 1 else tuple(values)
        assert answers[link] == expected, link
        value = answers[link]
        got = value if isinstance(value, tuple) else (value,)
        assert [type(v) for v in got] == [type(v) for v in values]


# --- Observation --------------------------------------------------------------------------


def test_data_absent_component_is_a_warning_not_a_reading() -> None:
    obs = sample("Observation-blood-pressure.json")
    obs["component"][1] = {
        "code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
        "dataAbsentReason": {"coding": [{"code": "error"}]},
    }
    data = observation_measurements(parse_resource(obs, "Observation"))
    assert [m.code for m in data.measurements] == [f"{LOINC}|8480-6"]
    (note,) = data.not_readings
    assert (note.severity, note.location) == ("warning", "Observation.component[1]")
    assert "error" in note.diagnostics


@pytest.mark.parametrize("status", ["cancelled", "entered-in-error"])
def test_cancelled_or_entered_in_error_gives_no_measurements(status: str) -> None:
    obs = sample("Observation-glucose-mgdl.json")
    obs["status"] = status
    data = observation_measurements(parse_resource(obs, "Observation"))
    assert data.measurements == []
    assert [(n.severity, n.location) for n in data.not_readings] == [("warning", "Observation")]
    assert status in data.not_readings[0].diagnostics


def test_unit_text_when_not_ucum_and_all_codings_kept() -> None:
    obs = sample("Observation-glucose-mgdl.json")
    obs["code"]["coding"].append({"system": "http://snomed.info/sct", "code": "33747003"})
    obs["valueQuantity"] = {"value": 5.2, "unit": "mmol/l"}
    data = observation_measurements(parse_resource(obs, "Observation"))
    assert [(m.value, m.unit) for m in data.measurements] == [(5.2, "mmol/L")]
    assert data.codes == [f"{LOINC}|2339-0", "http://snomed.info/sct|33747003"]


@pytest.mark.parametrize(
    ("effective", "expected"),
    [
        (
            {"effectiveDateTime": "2026-07-01"},
            dt.datetime(2026, 7, 1, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        ),
        ({"effectiveInstant": "2026-11-20T07:00:00Z"}, dt.datetime(2026, 11, 20, 7, tzinfo=dt.UTC)),
        (
            {
                "effectivePeriod": {
                    "start": "2026-11-19T22:00:00+01:00",
                    "end": "2026-11-20T06:00:00+01:00",
                }
            },
            dt.datetime(2026, 11, 20, 6, tzinfo=CET),
        ),
        (
            {"effectivePeriod": {"start": "2026-11-19T22:00:00+01:00"}},
            dt.datetime(2026, 11, 19, 22, tzinfo=CET),
        ),
    ],
)
def test_effective_time_choices(effective: dict[str, Any], expected: dt.datetime) -> None:
    obs = sample("Observation-glucose-mgdl.json")
    del obs["effectiveDateTime"]
    obs.update(effective)
    (measurement,) = observation_measurements(parse_resource(obs, "Observation")).measurements
    assert measurement.time == expected
    assert measurement.time.utcoffset() == expected.utcoffset()


# --- refusals, each with its exact location ----------------------------------------------------


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


def _obs(**changes: Any) -> dict[str, Any]:
    obs = sample("Observation-glucose-mgdl.json")
    for key, value in changes.items():
        if value is None:
            del obs[key]
        else:
            obs[key] = value
    return obs


def _glucose_value(value: Any) -> dict[str, Any]:
    obs = sample("Observation-glucose-mgdl.json")
    obs["valueQuantity"]["value"] = value
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
        lambda: parse_resource(_glucose_value("107")),
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
                _obs(
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
            parse_resource(_obs(effectiveDateTime=None), "Observation")
        ),
        "required",
        "Observation.effective[x]",
    ),
    (
        "naive dateTime",
        lambda: parse_resource(_obs(effectiveDateTime="2026-11-20T03:15:00")),
        "value",
        "Observation.effectiveDateTime",
    ),
    (
        "string value on a device reading",
        lambda: observation_measurements(
            parse_resource(_obs(valueQuantity=None, valueString="high"), "Observation")
        ),
        "not-supported",
        "Observation.valueString",
    ),
    (
        "comparator",
        lambda: observation_measurements(
            parse_resource(
                _obs(valueQuantity={"value": 2.2, "comparator": "<", "unit": "mmol/L"}),
                "Observation",
            )
        ),
        "not-supported",
        "Observation.valueQuantity.comparator",
    ),
    (
        "missing status",
        lambda: parse_resource(_obs(status=None)),
        "required",
        "Observation.status",
    ),
    (
        "status outside its required value set",
        lambda: parse_resource(_obs(status="banana")),
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
        lambda: parse_resource(_obs(colour="red")),
        "structure",
        "Observation.colour",
    ),
    (
        "JSON text where an object belongs",
        lambda: parse_resource(_obs(code='{"coding": [{"code": "x"}]}')),
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
            {"resource": _glucose_value("52"), "request": {"method": "POST", "url": "Observation"}},
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
    obs = _glucose_value(1)
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


# --- views ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("Patient/abc", "abc"),
        ("https://fhir.example.no/fhir/Patient/p-1.2", "p-1.2"),
        ("Patient/abc/_history/3", "abc"),
        ("Observation/abc", None),
        ("#contained", None),
        ("urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0", None),
        ("Patient/", None),
        ("Patient?identifier=x", None),
        ("Patient/a b", None),
    ],
)
def test_reference_id(reference: str, expected: str | None) -> None:
    assert reference_id(reference, "Patient") == expected


def test_samples_are_not_modified_by_parsing() -> None:
    data = sample("QuestionnaireResponse-epilepsy-red.json")
    before = copy.deepcopy(data)
    parse_resource(data)
    assert data == before


def test_a_refused_code_names_the_codes_that_are_allowed() -> None:
    issue = only_issue(refusal(lambda: parse_resource(_obs(status="Final"))))
    assert "'Final'" in issue.diagnostics and "final, amended" in issue.diagnostics


# --- every coding kept ------------------------------------------------------------------------


def _rules(name: str) -> triage.Pathway:
    return triage.load_pathway_text((REPO / "rules" / name).read_text(encoding="utf-8"), name)


def _reading(codings: list[tuple[str, str]], value: float, unit: str) -> dict[str, Any]:
    obs = _obs(valueQuantity={"value": value, "system": UCUM, "code": unit})
    obs["code"] = {"coding": [{"system": s, "code": c} for s, c in codings]}
    return obs


def test_a_snomed_first_spo2_keeps_its_loinc_coding_and_is_routed() -> None:
    obs = _reading([(SNOMED, "431314004"), (LOINC, "59408-5")], 93, "%")
    data = observation_measurements(parse_resource(obs, "Observation"))
    (m,) = data.measurements
    assert (m.code, m.alt_codes, m.panel, m.alt_panels) == (
        f"{SNOMED}|431314004",
        (f"{LOINC}|59408-5",),
        None,
        (),
    )
    assert m.codes == (f"{SNOMED}|431314004", f"{LOINC}|59408-5")
    assert data.locations == ["Observation.valueQuantity"]
    route = _rules("copd.yaml").route_of(m)
    assert route is not None and route.name == "spo2"


def test_a_snomed_first_blood_pressure_panel_keeps_every_coding_and_is_routed() -> None:
    obs = sample("Observation-blood-pressure.json")
    obs["code"]["coding"].insert(0, {"system": SNOMED, "code": "75367002"})
    obs["component"][0]["code"]["coding"].insert(0, {"system": SNOMED, "code": "271649006"})
    obs["component"][1]["code"]["coding"].insert(0, {"system": SNOMED, "code": "271650006"})
    data = observation_measurements(parse_resource(obs, "Observation"))
    systolic, diastolic = data.measurements
    assert (systolic.code, systolic.alt_codes) == (f"{SNOMED}|271649006", (f"{LOINC}|8480-6",))
    assert (diastolic.code, diastolic.alt_codes) == (f"{SNOMED}|271650006", (f"{LOINC}|8462-4",))
    for m in data.measurements:
        assert (m.panel, m.alt_panels) == (f"{SNOMED}|75367002", (f"{LOINC}|85354-9",))
    assert data.locations == [
        "Observation.component[0].valueQuantity",
        "Observation.component[1].valueQuantity",
    ]
    pathway = _rules("heart-failure.yaml")
    routes = [pathway.route_of(m) for m in data.measurements]
    assert [r.name if r else None for r in routes] == ["systolic", "diastolic"]


def test_a_coding_given_twice_is_kept_once() -> None:
    obs = _reading([(LOINC, "8867-4"), (LOINC, "8867-4"), (SNOMED, "364075005")], 70, "/min")
    (m,) = observation_measurements(parse_resource(obs, "Observation")).measurements
    assert m.codes == (f"{LOINC}|8867-4", f"{SNOMED}|364075005")


def test_locations_skip_components_without_a_value() -> None:
    obs = sample("Observation-blood-pressure.json")
    obs["component"][0] = {
        "code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
        "dataAbsentReason": {"coding": [{"code": "error"}]},
    }
    data = observation_measurements(parse_resource(obs, "Observation"))
    assert data.locations == ["Observation.component[1].valueQuantity"]


# --- readings no body can show ---------------------------------------------------------------


def _problems(obs: dict[str, Any]) -> list[tuple[str, str, str]]:
    data = observation_measurements(parse_resource(obs, "Observation"))
    return [(i.severity, i.code, i.location) for i in plausibility_problems(data, obs)]


def _bp(systolic: float, diastolic: float) -> dict[str, Any]:
    obs = sample("Observation-blood-pressure.json")
    obs["component"][0]["valueQuantity"]["value"] = systolic
    obs["component"][1]["valueQuantity"]["value"] = diastolic
    return obs


SPO2, WEIGHT, PULSE = f"{LOINC}|59408-5", f"{LOINC}|29463-7", f"{LOINC}|8867-4"
GLUCOSE, TEMPERATURE = f"{LOINC}|15074-8", f"{LOINC}|8310-5"
VALUE = "Observation.valueQuantity.value"

IMPOSSIBLE: list[tuple[str, dict[str, Any], str, str]] = [
    ("SpO2 150 %", _reading([(LOINC, "59408-5")], 150, "%"), VALUE, "oxygen saturation"),
    ("SpO2 -1 %", _reading([(LOINC, "2708-6")], -1, "%"), VALUE, "oxygen saturation"),
    ("SNOMED SpO2", _reading([(SNOMED, "431314004")], 101, "%"), VALUE, "oxygen saturation"),
    ("weight -80 kg", _reading([(LOINC, "29463-7")], -80, "kg"), VALUE, "body weight"),
    ("weight 0 kg", _reading([(LOINC, "29463-7")], 0, "kg"), VALUE, "body weight"),
    ("weight 800 kg", _reading([(LOINC, "3141-9")], 800, "kg"), VALUE, "body weight"),
    ("weight 1800 lb", _reading([(LOINC, "29463-7")], 1800, "[lb_av]"), VALUE, "816.5 kg"),
    ("pulse 0", _reading([(LOINC, "8867-4")], 0, "/min"), VALUE, "pulse"),
    ("pulse 401", _reading([(LOINC, "8867-4")], 401, "/min"), VALUE, "pulse"),
    ("pulse 1e308", _reading([(LOINC, "8867-4")], 1e308, "/min"), VALUE, "larger than any"),
    ("systolic 0", _bp(0, 54), "Observation.component[0].valueQuantity.value", "systolic"),
    ("diastolic 401", _bp(86, 401), "Observation.component[1].valueQuantity.value", "diastolic"),
    ("glucose 0", _reading([(LOINC, "15074-8")], 0, "mmol/L"), VALUE, "glucose"),
    ("glucose 2000 mg/dL", _glucose_value(2000), VALUE, "111 mmol/L"),
    ("temperature 14.9", _reading([(LOINC, "8310-5")], 14.9, "Cel"), VALUE, "body temperature"),
    ("temperature 115 degF", _reading([(LOINC, "8331-1")], 115, "[degF]"), VALUE, "46.1 °C"),
    ("an unknown code 2e9", _reading([(LOINC, "9279-1")], 2e9, "/min"), VALUE, "larger than"),
]


@pytest.mark.parametrize(
    ("name", "obs", "location", "words"), IMPOSSIBLE, ids=[c[0] for c in IMPOSSIBLE]
)
def test_an_impossible_reading_is_refused_at_its_value(
    name: str, obs: dict[str, Any], location: str, words: str
) -> None:
    data = observation_measurements(parse_resource(obs, "Observation"))
    (issue,) = plausibility_problems(data, obs)
    assert (issue.severity, issue.code, issue.location) == ("error", "value", location)
    assert words in issue.diagnostics and "check the device" in issue.diagnostics


POSSIBLE: list[tuple[str, dict[str, Any]]] = [
    ("SpO2 100", _reading([(LOINC, "59408-5")], 100, "%")),
    ("SpO2 0", _reading([(LOINC, "59408-5")], 0, "%")),
    ("weight 700", _reading([(LOINC, "29463-7")], 700, "kg")),
    ("weight 0.5", _reading([(LOINC, "29463-7")], 0.5, "kg")),
    ("pulse 400", _reading([(LOINC, "8867-4")], 400, "/min")),
    ("BP 400/400", _bp(400, 400)),
    ("BP 1/1", _bp(1, 1)),
    ("glucose 100", _reading([(LOINC, "15074-8")], 100, "mmol/L")),
    ("glucose 100 mmol/L as mg/dL", _glucose_value(1801.56)),
    ("temperature 15", _reading([(LOINC, "8310-5")], 15, "Cel")),
    ("temperature 46", _reading([(LOINC, "8310-5")], 46, "Cel")),
    ("temperature 114.8 degF = 46 Cel", _reading([(LOINC, "8310-5")], 114.8, "[degF]")),
    ("an unknown code, 1e9", _reading([(LOINC, "9279-1")], 1e9, "/min")),
    ("a unit that does not convert", _reading([(LOINC, "29463-7")], -5, "cm")),
]


@pytest.mark.parametrize(("name", "obs"), POSSIBLE, ids=[c[0] for c in POSSIBLE])
def test_a_reading_at_the_limits_is_accepted(name: str, obs: dict[str, Any]) -> None:
    assert _problems(obs) == []


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("Observation-*.json")), ids=lambda p: p.name)
def test_every_contract_observation_is_possible(path: Path) -> None:
    assert _problems(sample(path.name)) == []


def test_both_impossible_components_are_named() -> None:
    assert _problems(_bp(0, 500)) == [
        ("error", "value", "Observation.component[0].valueQuantity.value"),
        ("error", "value", "Observation.component[1].valueQuantity.value"),
    ]


def test_without_locations_the_raw_observation_locates_the_value() -> None:
    obs = _bp(86, 401)
    data = observation_measurements(parse_resource(obs, "Observation"))
    bare = type(data)(data.measurements, data.not_readings, data.status, data.code, data.codes)
    (issue,) = plausibility_problems(bare, obs)
    assert issue.location == "Observation.component[1].valueQuantity.value"


def test_a_snomed_first_reading_is_judged_by_any_coding() -> None:
    obs = _reading([(SNOMED, "999999"), (LOINC, "8867-4")], 500, "/min")
    assert _problems(obs) == [("error", "value", VALUE)]


def test_a_value_given_twice_in_one_observation_is_refused_where_it_repeats() -> None:
    """Safety attack: a BP panel with systolic 210 and again 120; one would hide the other."""
    from fhir_adapters import repeated_values

    component = {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}}
    raw = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "effectiveDateTime": "2026-11-20T08:05:00+01:00",
        "component": [
            {**component, "valueQuantity": {"value": v, "unit": "mm[Hg]"}} for v in (210, 120)
        ],
    }
    data = observation_measurements(parse_resource(raw, "Observation"))
    (issue,) = repeated_values(data, raw)
    assert issue.location == "Observation.component[1]"
    assert "http://loinc.org|8480-6 is given twice" in issue.diagnostics
    raw["component"][1]["code"] = {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]}
    assert repeated_values(observation_measurements(parse_resource(raw, "Observation")), raw) == []
