"""API.md "An item's level never falls by itself": newer data that evaluates lower is shown
beside the held level (``newest``); only a clinician resolves or overrides. A rise re-opens
an acknowledged item, and drops an override made on milder data."""

from __future__ import annotations

from tests.safety.answers import rules_of
from tests.safety.client import Api
from tests.safety.fhir_builders import HF, ago, pulse, spo2


def test_newer_green_data_never_lowers_an_open_red_and_the_red_reason_stays(api: Api) -> None:
    patient = api.new_patient(HF)
    api.created(patient, spo2(patient, 85, ago(2)))
    red = api.the_item(patient, HF)
    assert red["level"] == "red"
    api.created(patient, spo2(patient, 97, ago(1)))
    item = api.the_item(patient, HF)
    assert item["id"] == red["id"]
    assert item["level"] == "red", item
    assert item["status"] == "open"
    assert [r["level"] for r in item["reasons"] if r["rule"] == "low-oxygen"] == ["red"]
    assert item["newest"]["level"] == "green"
    assert item["action"]["due"] == red["action"]["due"]


def test_newer_green_data_never_lowers_an_acknowledged_red(api: Api) -> None:
    patient = api.new_patient(HF)
    api.created(patient, spo2(patient, 85, ago(2)))
    api.act(api.the_item(patient, HF), "acknowledge", {"note": "ringer i morgen"})
    api.created(patient, spo2(patient, 97, ago(1)))
    assert api.item(patient, HF) is None  # still acknowledged, not back on the open list
    item = api.the_item(patient, HF, status="acknowledged")
    assert item["level"] == "red", item
    assert "low-oxygen" in rules_of(item)
    assert item["newest"]["level"] == "green"


def test_after_the_clinician_resolves_new_green_data_opens_a_new_green_item(api: Api) -> None:
    patient = api.new_patient(HF)
    api.created(patient, spo2(patient, 85, ago(2)))
    red = api.the_item(patient, HF)
    api.act(red, "resolve", {"note": "ringt, alt i orden"})
    assert api.item(patient, HF) is None
    api.created(patient, spo2(patient, 97, ago(1)))
    item = api.the_item(patient, HF)
    assert item["id"] != red["id"]
    assert item["level"] == "green", item
    assert "low-oxygen" not in rules_of(item)
    resolved = api.the_item(patient, HF, status="resolved")
    assert resolved["id"] == red["id"] and resolved["level"] == "red"


def test_after_the_clinician_resolves_new_red_data_opens_a_new_red_item(api: Api) -> None:
    patient = api.new_patient(HF)
    api.created(patient, spo2(patient, 85, ago(3)))
    first = api.the_item(patient, HF)
    api.act(first, "resolve")
    api.created(patient, spo2(patient, 83, ago(1)))
    item = api.the_item(patient, HF)
    assert item["id"] != first["id"]
    assert item["level"] == "red", item
    assert item["status"] == "open"


def test_a_late_red_reopens_an_acknowledged_yellow_item(api: Api) -> None:
    patient = api.new_patient(HF)
    api.created(patient, pulse(patient, 118, ago(1)))
    yellow = api.the_item(patient, HF)
    assert yellow["level"] == "yellow"
    api.act(yellow, "acknowledge")
    api.created(patient, spo2(patient, 84, ago(2)))  # measured earlier, uploaded later
    item = api.the_item(patient, HF)  # back on the open list
    assert item["id"] == yellow["id"]
    assert item["level"] == "red", item
    assert item["status"] == "open"


def test_a_clinicians_override_is_kept_when_lower_newer_data_arrives(api: Api) -> None:
    patient = api.new_patient(HF)
    api.created(patient, spo2(patient, 88, ago(2)))
    red = api.the_item(patient, HF)
    api.act(red, "override", {"level": "yellow", "reason": "kjent lav metning"})
    api.created(patient, spo2(patient, 97, ago(1)))
    item = api.the_item(patient, HF)
    assert item["level"] == "yellow", item
    assert item["engine_level"] == "red"
    assert item["override"]["level"] == "yellow"
    assert item["newest"]["level"] == "green"


def test_a_red_arriving_after_an_override_down_to_green_shows_red(api: Api) -> None:
    patient = api.new_patient(HF)
    api.created(patient, pulse(patient, 118, ago(2)))
    yellow = api.the_item(patient, HF)
    api.act(yellow, "override", {"level": "green", "reason": "trener"})
    assert api.the_item(patient, HF)["level"] == "green"
    api.created(patient, spo2(patient, 84, ago(1)))
    item = api.the_item(patient, HF)
    assert item["level"] == "red", item
    assert item["engine_level"] == "red"
    assert item["override"] is None


def test_a_new_red_reading_under_a_green_override_shows_as_the_newest_red_beside_it(
    api: Api,
) -> None:
    patient = api.new_patient(HF)
    api.created(patient, spo2(patient, 88, ago(3)))
    api.act(api.the_item(patient, HF), "override", {"level": "green", "reason": "vanlig for henne"})
    api.created(patient, spo2(patient, 75, ago(1)))
    item = api.the_item(patient, HF)
    assert item["engine_level"] == "red"
    assert item["newest"]["level"] == "red", item["newest"]
    assert "Oksygenmetning 75%" in {r["text"] for r in item["newest"]["reasons"]}
    assert "low-oxygen" in rules_of(item)


def test_paging_through_next_shows_every_item_once_in_the_order_of_one_page(api: Api) -> None:
    patient = api.new_patient(HF)
    api.created(patient, spo2(patient, 84, ago(1)))
    whole = api.get("/api/worklist", {"pathway": HF, "limit": 200}).json()
    assert whole["next"] is None, "more than 200 open heart-failure items"
    paged, params, pages = [], {"pathway": HF, "limit": 3}, 0
    while True:
        page = api.get("/api/worklist", params).json()
        paged += page["items"]
        pages += 1
        if not page["next"]:
            break
        params["cursor"] = page["next"]
    assert pages > 1
    assert [i["id"] for i in paged] == [i["id"] for i in whole["items"]]
    counted = {level: sum(i["level"] == level for i in paged) for level in whole["counts"]}
    assert counted == whole["counts"]
    order = {"red": 0, "yellow": 1, "green": 2}
    assert [order[i["level"]] for i in paged] == sorted(order[i["level"]] for i in paged)
    assert patient.id in {i["patient"]["id"] for i in paged if i["level"] == "red"}
