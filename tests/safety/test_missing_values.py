"""RULES.md "Missing values": ``a or b`` fires when one side is true and the other unknown,
so a cuff that sends one value alone is still red; a rule left unknown is listed as
undecided with the input it lacked."""

from __future__ import annotations

from tests.safety.answers import rules_of
from tests.safety.client import Api
from tests.safety.fhir_builders import HTN, SYSTOLIC, ago, blood_pressure, observation, quantity

ONE_READING_IS_ENOUGH = {HTN: {"min_readings": 1}}


def test_a_bp_panel_with_systolic_210_and_no_diastolic_is_red_on_the_hypertension_list(
    api: Api,
) -> None:
    patient = api.new_patient(HTN)
    api.created(patient, blood_pressure(patient, ago(1), systolic=210))
    item = api.the_item(patient, HTN)
    assert item["level"] == "red", item
    assert "severe-hypertension" in rules_of(item)
    assert item["newest"]["level"] == "red"


def test_a_plain_systolic_observation_of_210_is_red_on_the_hypertension_list(api: Api) -> None:
    patient = api.new_patient(HTN)
    api.created(patient, observation(patient, SYSTOLIC, 210, "mm[Hg]", ago(1)))
    item = api.the_item(patient, HTN)
    assert item["level"] == "red", item
    assert "severe-hypertension" in rules_of(item)


def test_a_bp_panel_with_diastolic_120_and_no_systolic_is_red_on_the_hypertension_list(
    api: Api,
) -> None:
    patient = api.new_patient(HTN)
    api.created(patient, blood_pressure(patient, ago(1), diastolic=120))
    item = api.the_item(patient, HTN)
    assert item["level"] == "red", item
    assert "severe-hypertension" in rules_of(item)


def test_a_rule_left_undecided_is_listed_with_the_input_it_lacked(api: Api) -> None:
    # systolic 150 alone: "150 >= 180 or diastolic >= 110" is unknown, not false.
    patient = api.new_patient(HTN, thresholds=ONE_READING_IS_ENOUGH)
    stored = api.created(patient, blood_pressure(patient, ago(1), systolic=150))
    [result] = [r for r in api.results(patient) if (r["upload"] or {}).get("id") == stored["id"]]
    undecided = {u["rule"]: u for u in result["undecided"]}
    assert "severe-hypertension" in undecided, result["undecided"]
    assert undecided["severe-hypertension"]["lacking"] == ["diastolic"]
    assert result["level"] == "yellow"  # the 7-day mean of 150 is high: high-home-bp
    item = api.the_item(patient, HTN)
    assert item["level"] == "yellow", item
    assert "severe-hypertension" in {u["rule"] for u in item["newest"]["undecided"]}


def test_a_bp_panel_carrying_systolic_twice_is_never_judged_on_the_lower_value_alone(
    api: Api,
) -> None:
    # A buggy cuff app repeats the systolic component: 210, then 120. Refusing the panel
    # (like an answer given twice) or judging the worst are both safe; 120 alone is not.
    patient = api.new_patient(HTN, thresholds=ONE_READING_IS_ENOUGH)
    reading = blood_pressure(patient, ago(1), 210, 90)
    reading["component"].append(
        {"code": {"coding": SYSTOLIC}, "valueQuantity": quantity(120, "mm[Hg]")}
    )
    answer = api.send(patient, reading)
    if answer.status_code == 422:
        return
    assert answer.status_code == 201, answer.text
    api.done("Observation", answer.json()["id"])
    item = api.the_item(patient, HTN)
    assert item["level"] == "red", (item["level"], item["reasons"])
