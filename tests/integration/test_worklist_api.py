"""The worklist over HTTP, on the embedded default and on PostgreSQL + Redis: order, counts,
filters, cursor pagination, acknowledge / resolve / override with who and when, audit."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from store.db import session_scope
from store.models import AuditEvent, WorklistEvent, WorklistItem
from tests.documented import assert_documented
from tests.integration.api_rows import FNR, NOW, add_item, add_patient, headers, unique


def day(n: int) -> dt.datetime:
    return NOW + dt.timedelta(days=n)


def test_items_come_red_yellow_green_then_earliest_due_with_the_contract_shape(
    client: TestClient,
) -> None:
    pathway = unique("wl")
    ids = {
        "red_late": add_item(add_patient(), pathway, "red", day(5)),
        "red_soon": add_item(add_patient("Kari Nordmann"), pathway, "red", day(1)),
        "red_nodue": add_item(add_patient(), pathway, "red", None),
        "yellow": add_item(add_patient(), pathway, "yellow", day(0)),
        "green": add_item(add_patient(), pathway, "green", day(-3)),
    }
    response = client.get("/api/worklist", params={"pathway": pathway}, headers=headers())
    assert response.status_code == 200, response.text
    body = response.json()
    order = ["red_soon", "red_late", "red_nodue", "yellow", "green"]
    assert [item["id"] for item in body["items"]] == [ids[name] for name in order]
    assert body["counts"] == {"red": 3, "yellow": 1, "green": 1}
    assert body["next"] is None
    first = body["items"][0]
    assert first["patient"]["name"] == "Kari Nordmann"
    assert first["patient"]["identifier"].startswith(FNR + "|")
    assert first["pathway"] == pathway
    assert (first["level"], first["engine_level"], first["override"]) == ("red", "red", None)
    assert first["status"] == "open"
    assert first["reasons"] == [{"rule": "r1", "level": "red", "text": "grunn red"}]
    assert first["action"]["consultation"] == "phone"
    assert first["action"]["within"] == "P7D"
    assert dt.datetime.fromisoformat(first["action"]["due"]) == day(1)
    assert first["source"][0]["resourceType"] == "QuestionnaireResponse"
    assert first["ruleset"] == {"pathway": pathway, "version": 1, "sha256": "ab" * 32}
    assert dt.datetime.fromisoformat(first["created"]).utcoffset() is not None


def test_filters_by_level_and_status_while_counts_ignore_the_level(client: TestClient) -> None:
    pathway = unique("wl")
    red = add_item(add_patient(), pathway, "red", day(1))
    add_item(add_patient(), pathway, "yellow", day(1))
    acknowledged = add_item(add_patient(), pathway, "green", day(1), status="acknowledged")
    add_item(add_patient(), pathway, "red", day(1), status="resolved")
    add_item(add_patient(), unique("other"), "red", day(1))

    only_red = client.get(
        "/api/worklist", params={"pathway": pathway, "level": "red"}, headers=headers()
    ).json()
    assert [item["id"] for item in only_red["items"]] == [red]
    assert only_red["counts"] == {"red": 1, "yellow": 1, "green": 0}

    acked = client.get(
        "/api/worklist", params={"pathway": pathway, "status": "acknowledged"}, headers=headers()
    ).json()
    assert [item["id"] for item in acked["items"]] == [acknowledged]
    assert acked["counts"] == {"red": 0, "yellow": 0, "green": 1}

    bad = client.get("/api/worklist", params={"level": "purple"}, headers=headers())
    assert bad.status_code == 422


def test_cursor_pages_cover_every_item_once_in_order(client: TestClient) -> None:
    pathway = unique("wl")
    levels = ["red", "yellow", "green"]
    for n in range(23):
        due = None if n % 5 == 0 else day(n % 4)  # ties on due, and items without one
        add_item(add_patient(), pathway, levels[n % 3], due)
    everything = client.get(
        "/api/worklist", params={"pathway": pathway, "limit": 200}, headers=headers()
    ).json()
    expected = [item["id"] for item in everything["items"]]
    assert len(expected) == 23

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"pathway": pathway, "limit": 5}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/worklist", params=params, headers=headers()).json()
        pages += 1
        seen.extend(item["id"] for item in page["items"])
        assert page["counts"] == everything["counts"]
        cursor = page["next"]
        if cursor is None:
            break
    assert pages == 5
    assert seen == expected

    garbage = client.get(
        "/api/worklist", params={"pathway": pathway, "cursor": "not-a-cursor"}, headers=headers()
    )
    assert garbage.status_code == 400


def test_a_clinician_sees_only_granted_pathways(client: TestClient) -> None:
    mine, theirs = unique("wl"), unique("wl")
    own = add_item(add_patient(), mine, "yellow", day(1))
    add_item(add_patient(), theirs, "red", day(1))
    body = client.get("/api/worklist", headers=headers(pathways=[mine])).json()
    assert [item["id"] for item in body["items"]] == [own]
    assert body["counts"] == {"red": 0, "yellow": 1, "green": 0}
    refused = client.get(
        "/api/worklist", params={"pathway": theirs}, headers=headers(pathways=[mine])
    )
    assert refused.status_code == 403


def test_acknowledge_then_resolve_record_who_and_when(client: TestClient) -> None:
    pathway = unique("wl")
    patient = add_patient()
    item_id = add_item(patient, pathway, "red", day(1))
    nurse = headers(subject="clinician:nurse-1")
    ack = client.post(f"/api/worklist/{item_id}/acknowledge", json={"note": "ringt"}, headers=nurse)
    assert ack.status_code == 200, ack.text
    assert ack.json()["status"] == "acknowledged"
    assert ack.json()["acknowledged"]["by"] == "clinician:nurse-1"
    again = client.post(f"/api/worklist/{item_id}/acknowledge", headers=nurse)
    assert again.status_code == 409

    doctor = headers(subject="clinician:doctor-2")
    done = client.post(
        f"/api/worklist/{item_id}/resolve", json={"note": "time satt"}, headers=doctor
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "resolved"
    assert client.post(f"/api/worklist/{item_id}/resolve", headers=doctor).status_code == 409

    with session_scope() as session:
        item = session.get(WorklistItem, item_id)
        assert item is not None
        assert (item.acknowledged_by, item.resolved_by) == (
            "clinician:nurse-1",
            "clinician:doctor-2",
        )
        assert item.acknowledged_at is not None and item.resolved_at is not None
        assert item.acknowledged_at <= item.resolved_at
        assert item.open_key is None and item.note == "time satt"
        events = session.exec(
            select(WorklistEvent)
            .where(WorklistEvent.item_id == item_id)
            .order_by(col(WorklistEvent.id))
        ).all()
        assert [(e.change, e.actor) for e in events] == [
            ("acknowledged", "clinician:nurse-1"),
            ("resolved", "clinician:doctor-2"),
        ]
        assert events[0].detail["note"] == "ringt"
    # The next data for this patient and pathway can open a new item.
    fresh = add_item(patient, pathway, "green", day(2))
    listed = client.get("/api/worklist", params={"pathway": pathway}, headers=headers()).json()
    assert [item["id"] for item in listed["items"]] == [fresh]


def test_override_sits_beside_the_engine_level_and_drives_the_order(client: TestClient) -> None:
    pathway = unique("wl")
    calmed = add_item(add_patient(), pathway, "red", day(1))
    other_red = add_item(add_patient(), pathway, "red", day(9))
    yellow = add_item(add_patient(), pathway, "yellow", day(3))
    response = client.post(
        f"/api/worklist/{calmed}/override",
        json={"level": "yellow", "reason": "Kjent mønster, stabil"},
        headers=headers(subject="clinician:doctor-2"),
    )
    assert response.status_code == 200, response.text
    assert_documented("POST", "/api/worklist/{item_id}/override", response)
    view = response.json()
    assert (view["level"], view["engine_level"]) == ("yellow", "red")
    assert view["override"]["reason"] == "Kjent mønster, stabil"
    assert view["override"]["by"] == "clinician:doctor-2"
    assert view["override"]["at"] is not None

    listed = client.get("/api/worklist", params={"pathway": pathway}, headers=headers()).json()
    assert [item["id"] for item in listed["items"]] == [other_red, calmed, yellow]
    assert listed["counts"] == {"red": 1, "yellow": 2, "green": 0}
    only_yellow = client.get(
        "/api/worklist", params={"pathway": pathway, "level": "yellow"}, headers=headers()
    ).json()
    assert {item["id"] for item in only_yellow["items"]} == {calmed, yellow}

    with session_scope() as session:
        item = session.get(WorklistItem, calmed)
        assert item is not None
        assert (item.level, item.override_level, item.sort_rank) == ("red", "yellow", 1)
        event = session.exec(select(WorklistEvent).where(WorklistEvent.item_id == calmed)).one()
        assert (event.change, event.level, event.detail["engine_level"]) == (
            "override",
            "yellow",
            "red",
        )


def test_an_override_can_be_cleared_and_the_engine_level_rules_again(client: TestClient) -> None:
    pathway = unique("wl")
    calmed = add_item(add_patient(), pathway, "red", day(1))
    other_red = add_item(add_patient(), pathway, "red", day(9))
    url = f"/api/worklist/{calmed}/override"
    body = {"level": "green", "reason": "Kjent mønster"}
    client.post(url, json=body, headers=headers(subject="clinician:doctor-2"))
    listed = client.get("/api/worklist", params={"pathway": pathway}, headers=headers()).json()
    assert [item["id"] for item in listed["items"]] == [other_red, calmed]

    cleared = client.delete(url, headers=headers(subject="clinician:nurse-3"))
    assert cleared.status_code == 200, cleared.text
    assert_documented("DELETE", "/api/worklist/{item_id}/override", cleared)
    view = cleared.json()
    assert (view["level"], view["engine_level"], view["override"]) == ("red", "red", None)
    listed = client.get("/api/worklist", params={"pathway": pathway}, headers=headers()).json()
    assert [item["id"] for item in listed["items"]] == [calmed, other_red]
    assert listed["counts"] == {"red": 2, "yellow": 0, "green": 0}

    again = client.delete(url, headers=headers())
    assert again.status_code == 409 and "no override" in again.text
    with session_scope() as session:
        item = session.get(WorklistItem, calmed)
        assert item is not None
        assert (item.override_level, item.override_reason, item.sort_rank) == (None, None, 0)
        events = session.exec(
            select(WorklistEvent)
            .where(col(WorklistEvent.item_id) == calmed)
            .order_by(col(WorklistEvent.id))
        ).all()
        assert [(e.change, e.actor, e.level) for e in events] == [
            ("override", "clinician:doctor-2", "green"),
            ("override-cleared", "clinician:nurse-3", "red"),
        ]
        assert events[1].detail == {
            "cleared": "green",
            "reason": "Kjent mønster",
            "set_by": "clinician:doctor-2",
        }
        audits = session.exec(
            select(AuditEvent.action).where(col(AuditEvent.target) == calmed)
        ).all()
        assert "worklist.override-cleared" in audits


def test_a_resolved_item_keeps_its_override(client: TestClient) -> None:
    item_id = add_item(add_patient(), unique("wl"), "red", day(1))
    url = f"/api/worklist/{item_id}/override"
    client.post(url, json={"level": "yellow", "reason": "stabil"}, headers=headers())
    client.post(f"/api/worklist/{item_id}/resolve", headers=headers())
    refused = client.delete(url, headers=headers())
    assert refused.status_code == 409, refused.text
    with session_scope() as session:
        item = session.get(WorklistItem, item_id)
        assert item is not None and item.override_level == "yellow"


@pytest.mark.parametrize(
    "body",
    [{"level": "yellow"}, {"level": "yellow", "reason": "  "}, {"level": "blue", "reason": "x"}],
)
def test_an_override_needs_a_known_level_and_a_reason(client: TestClient, body: dict) -> None:
    item_id = add_item(add_patient(), unique("wl"), "red", day(1))
    response = client.post(f"/api/worklist/{item_id}/override", json=body, headers=headers())
    assert response.status_code == 422
    with session_scope() as session:
        item = session.get(WorklistItem, item_id)
        assert item is not None and item.override_level is None and item.sort_rank == 0


def test_unknown_item_is_404(client: TestClient) -> None:
    response = client.post("/api/worklist/w-nope/acknowledge", headers=headers())
    assert response.status_code == 404


def test_reading_the_worklist_audits_each_patient_shown(client: TestClient) -> None:
    pathway = unique("wl")
    patients = [add_patient() for _ in range(3)]
    items = [add_item(p, pathway, "yellow", day(1)) for p in patients]
    reader = headers(subject="clinician:auditee")
    assert (
        client.get("/api/worklist", params={"pathway": pathway}, headers=reader).status_code == 200
    )
    with session_scope() as session:
        for patient, item in zip(patients, items, strict=True):
            rows = session.exec(
                select(AuditEvent).where(
                    AuditEvent.patient_id == patient, AuditEvent.actor == "clinician:auditee"
                )
            ).all()
            assert [(r.action, r.role, r.detail["items"]) for r in rows] == [
                ("worklist.read", "clinician", [item])
            ]
