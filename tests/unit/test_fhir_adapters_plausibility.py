"""fhir_adapters: readings no body can show are refused at their value; readings at the
limits, and every contract Observation, are accepted; a value given twice is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fhir_samples import LOINC, SAMPLES, SNOMED, coded, glucose_value, sample

from fhir_adapters import (
    observation_measurements,
    parse_resource,
    plausibility_problems,
    repeated_values,
)


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
    ("SpO2 150 %", coded([(LOINC, "59408-5")], 150, "%"), VALUE, "oxygen saturation"),
    ("SpO2 -1 %", coded([(LOINC, "2708-6")], -1, "%"), VALUE, "oxygen saturation"),
    ("SNOMED SpO2", coded([(SNOMED, "431314004")], 101, "%"), VALUE, "oxygen saturation"),
    ("weight -80 kg", coded([(LOINC, "29463-7")], -80, "kg"), VALUE, "body weight"),
    ("weight 0 kg", coded([(LOINC, "29463-7")], 0, "kg"), VALUE, "body weight"),
    ("weight 800 kg", coded([(LOINC, "3141-9")], 800, "kg"), VALUE, "body weight"),
    ("weight 1800 lb", coded([(LOINC, "29463-7")], 1800, "[lb_av]"), VALUE, "816.5 kg"),
    ("pulse 0", coded([(LOINC, "8867-4")], 0, "/min"), VALUE, "pulse"),
    ("pulse 401", coded([(LOINC, "8867-4")], 401, "/min"), VALUE, "pulse"),
    ("pulse 1e308", coded([(LOINC, "8867-4")], 1e308, "/min"), VALUE, "larger than any"),
    ("systolic 0", _bp(0, 54), "Observation.component[0].valueQuantity.value", "systolic"),
    ("diastolic 401", _bp(86, 401), "Observation.component[1].valueQuantity.value", "diastolic"),
    ("glucose 0", coded([(LOINC, "15074-8")], 0, "mmol/L"), VALUE, "glucose"),
    ("glucose 2000 mg/dL", glucose_value(2000), VALUE, "111 mmol/L"),
    ("temperature 14.9", coded([(LOINC, "8310-5")], 14.9, "Cel"), VALUE, "body temperature"),
    ("temperature 115 degF", coded([(LOINC, "8331-1")], 115, "[degF]"), VALUE, "46.1 °C"),
    ("an unknown code 2e9", coded([(LOINC, "9279-1")], 2e9, "/min"), VALUE, "larger than"),
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
    ("SpO2 100", coded([(LOINC, "59408-5")], 100, "%")),
    ("SpO2 0", coded([(LOINC, "59408-5")], 0, "%")),
    ("weight 700", coded([(LOINC, "29463-7")], 700, "kg")),
    ("weight 0.5", coded([(LOINC, "29463-7")], 0.5, "kg")),
    ("pulse 400", coded([(LOINC, "8867-4")], 400, "/min")),
    ("BP 400/400", _bp(400, 400)),
    ("BP 1/1", _bp(1, 1)),
    ("glucose 100", coded([(LOINC, "15074-8")], 100, "mmol/L")),
    ("glucose 100 mmol/L as mg/dL", glucose_value(1801.56)),
    ("temperature 15", coded([(LOINC, "8310-5")], 15, "Cel")),
    ("temperature 46", coded([(LOINC, "8310-5")], 46, "Cel")),
    ("temperature 114.8 degF = 46 Cel", coded([(LOINC, "8310-5")], 114.8, "[degF]")),
    ("an unknown code, 1e9", coded([(LOINC, "9279-1")], 1e9, "/min")),
    ("a unit that does not convert", coded([(LOINC, "29463-7")], -5, "cm")),
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
    obs = coded([(SNOMED, "999999"), (LOINC, "8867-4")], 500, "/min")
    assert _problems(obs) == [("error", "value", VALUE)]


def test_a_value_given_twice_in_one_observation_is_refused_where_it_repeats() -> None:
    """Safety attack: a BP panel with systolic 210 and again 120; one would hide the other."""
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
