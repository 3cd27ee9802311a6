"""fhir_adapters: parsing the contract's samples, flattening a QuestionnaireResponse to typed
answers, an Observation's readings and their times, and references."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fhir_samples import LOINC, SAMPLES, sample
from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_adapters import (
    flatten_response,
    observation_measurements,
    parse_resource,
    reference_id,
    response_questionnaire_url,
    response_subject_reference,
)
from triage.readings import Measurement

CET = dt.timezone(dt.timedelta(hours=1))


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
