"""fhir_adapters: every coding of a reading is kept (SNOMED first, LOINC beside it), so that
a pathway routes it by any of them; and where each value stands in the Observation."""

from __future__ import annotations

from fhir_samples import LOINC, REPO, SNOMED, coded, sample

import triage
from fhir_adapters import observation_measurements, parse_resource


def _rules(name: str) -> triage.Pathway:
    return triage.load_pathway_text((REPO / "rules" / name).read_text(encoding="utf-8"), name)


def test_a_snomed_first_spo2_keeps_its_loinc_coding_and_is_routed() -> None:
    obs = coded([(SNOMED, "431314004"), (LOINC, "59408-5")], 93, "%")
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
    obs = coded([(LOINC, "8867-4"), (LOINC, "8867-4"), (SNOMED, "364075005")], 70, "/min")
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
