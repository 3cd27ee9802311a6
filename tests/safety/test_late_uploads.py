"""RULES.md "When" and API.md "Worklists": each upload is judged as of its own time, so a
phone that uploads yesterday's red after today's green, or a Bundle of several readings,
leaves red on the list (held), with the newest data's result shown beside it."""

from __future__ import annotations

import datetime as dt

from tests.safety.answers import places, rules_of
from tests.safety.client import Api
from tests.safety.fhir_builders import (
    EPI,
    HF,
    HTN,
    ago,
    blood_pressure,
    bundle,
    epilepsy,
    ident,
    spo2,
)


def test_a_red_response_authored_two_hours_before_a_green_one_but_uploaded_after_it_is_red(
    api: Api,
) -> None:
    patient = api.new_patient(EPI)
    api.created(patient, epilepsy(patient, 0, ago(1)))
    assert api.the_item(patient, EPI)["level"] == "green"
    api.created(patient, epilepsy(patient, 5, ago(2)))
    item = api.the_item(patient, EPI)
    assert item["level"] == "red", item
    assert "many-seizures" in rules_of(item)
    assert item["newest"]["level"] == "green", item["newest"]


def test_spo2_82_measured_before_a_97_and_uploaded_after_it_is_red_on_the_heart_failure_list(
    api: Api,
) -> None:
    patient = api.new_patient(HF)
    api.created(patient, spo2(patient, 97, ago(1)))
    assert api.the_item(patient, HF)["level"] == "green"
    late = api.created(patient, spo2(patient, 82, ago(2)))
    assert [r["level"] for r in api.done("Observation", late["id"])["results"]] == ["red"]
    item = api.the_item(patient, HF)
    assert item["level"] == "red", item
    assert "low-oxygen" in rules_of(item)
    assert item["newest"]["level"] == "green", item["newest"]


def test_spo2_84_then_96_in_one_transaction_bundle_is_red(api: Api) -> None:
    patient = api.new_patient(HF)
    api.bundle(
        patient, bundle("transaction", [spo2(patient, 84, ago(2)), spo2(patient, 96, ago(1))])
    )
    item = api.the_item(patient, HF)
    assert item["level"] == "red", item
    assert "low-oxygen" in rules_of(item)
    assert item["newest"]["level"] == "green"


def test_a_late_bundle_of_old_red_and_new_green_readings_is_red_on_every_pathway_it_touches(
    api: Api,
) -> None:
    patient = api.new_patient(HF, HTN, thresholds={HTN: {"min_readings": 1}})
    readings = [
        spo2(patient, 97, ago(1)),
        blood_pressure(patient, ago(1), systolic=125, diastolic=80),
        spo2(patient, 84, ago(3)),
        blood_pressure(patient, ago(3), systolic=190, diastolic=100),
    ]
    api.bundle(patient, bundle("transaction", readings))
    heart = api.the_item(patient, HF)
    assert heart["level"] == "red", heart
    assert "low-oxygen" in rules_of(heart)
    assert heart["newest"]["level"] == "green"
    pressure = api.the_item(patient, HTN)
    assert pressure["level"] == "red", pressure
    assert "severe-hypertension" in rules_of(pressure)
    # newest: 125/80, but the 7-day mean of 190 and 125 is still high
    assert pressure["newest"]["level"] == "yellow"


def test_the_same_bundle_sent_twice_is_stored_once_and_judged_once(api: Api) -> None:
    patient = api.new_patient(HF)
    readings = [
        spo2(patient, 84, ago(2), identifier=ident("b-")),
        spo2(patient, 96, ago(1), identifier=ident("b-")),
    ]
    first = api.bundle(patient, bundle("transaction", readings))
    before = api.results(patient)
    item = api.the_item(patient, HF)
    again = api.send(patient, bundle("transaction", readings))
    assert again.status_code == 200, again.text
    entries = again.json()["entry"]
    assert [e["response"]["status"] for e in entries] == ["200 OK", "200 OK"]
    assert [e["fullUrl"] for e in entries] == [e["fullUrl"] for e in first]
    for entry in entries:
        api.done(*entry["fullUrl"].split("/"))
    assert len(api.results(patient)) == len(before) == 2
    after = api.the_item(patient, HF)
    assert after["id"] == item["id"]
    assert after["level"] == "red"


def test_a_batch_keeps_the_red_reading_when_another_entry_is_impossible(api: Api) -> None:
    patient = api.new_patient(HF)
    answer = api.send(
        patient, bundle("batch", [spo2(patient, 150, ago(1)), spo2(patient, 84, ago(2))])
    )
    assert answer.status_code == 200, answer.text
    refused, accepted = answer.json()["entry"]
    assert refused["response"]["status"].startswith("422"), refused
    assert "Bundle.entry[0].resource.valueQuantity.value" in places(refused["response"]["outcome"])
    assert accepted["response"]["status"] == "201 Created"
    api.done(*accepted["fullUrl"].split("/"))
    item = api.the_item(patient, HF)
    assert item["level"] == "red", item


def test_a_transaction_with_one_impossible_reading_stores_nothing_of_it(api: Api) -> None:
    patient = api.new_patient(HF)
    red = spo2(patient, 84, ago(2), identifier=ident("t-"))
    answer = api.send(patient, bundle("transaction", [spo2(patient, 150, ago(1)), red]))
    assert 400 <= answer.status_code < 500, answer.text
    assert "Bundle.entry[0].resource.valueQuantity.value" in places(answer.json())
    assert api.results(patient) == []
    assert api.items_anywhere(patient) == []
    # the red reading's identifier is still free: nothing of the transaction was kept
    alone = api.send(patient, red)
    assert alone.status_code == 201, alone.text


def test_a_low_spo2_and_a_normal_one_of_the_same_instant_in_one_bundle_is_red(api: Api) -> None:
    # A device stamping to the minute sends a low and a normal value of the same minute.
    # RULES.md "When": no reading goes unjudged because another arrived with it.
    patient = api.new_patient(HF)
    when = ago(1)
    entries = api.bundle(
        patient, bundle("transaction", [spo2(patient, 82, when), spo2(patient, 97, when)])
    )
    low = entries[0]["fullUrl"].split("/")[1]
    [result] = [r for r in api.results(patient) if (r["upload"] or {}).get("id") == low]
    assert result["level"] == "red", (result["level"], result["reasons"])
    item = api.the_item(patient, HF)
    assert item["level"] == "red", item


def test_a_red_response_with_a_minus_10_offset_written_before_a_green_one_is_red(
    api: Api,
) -> None:
    # 2 h before the green one, but its wall-clock text looks 8 h later than a UTC one
    patient = api.new_patient(EPI)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    green_at = (now - dt.timedelta(hours=1)).isoformat()
    red_at = (now - dt.timedelta(hours=3)).astimezone(dt.timezone(dt.timedelta(hours=-10)))
    api.created(patient, epilepsy(patient, 0, green_at))
    api.created(patient, epilepsy(patient, 5, red_at.isoformat()))
    item = api.the_item(patient, EPI)
    assert item["level"] == "red", item
    assert item["newest"]["level"] == "green", item["newest"]
    assert dt.datetime.fromisoformat(item["newest"]["at"]) == now - dt.timedelta(hours=1)
