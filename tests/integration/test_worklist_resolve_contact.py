"""Resolving an item records the contact that actually happened (none, digital, phone, video,
physical), on the embedded default and on PostgreSQL + Redis: on the item, in the item's
history and in the answer; without one the item has none recorded, and any other value is
refused with nothing changed."""

from __future__ import annotations

from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from api.app import create_app
from api.auth import Principal
from api.schemas import ContactName
from store.db import session_scope
from store.models import AuditEvent, WorklistEvent, WorklistItem
from tests.conftest import Service
from tests.documented import assert_documented
from tests.integration.api_rows import add_item, add_patient, headers, unique
from usecases import worklist
from usecases.errors import Unprocessable

CONTACTS = ["none", "digital", "phone", "video", "physical"]
ROUTE = "/api/worklist/{item_id}/resolve"


def _events(item_id: str) -> list[WorklistEvent]:
    with session_scope() as session:
        return list(
            session.exec(
                select(WorklistEvent)
                .where(col(WorklistEvent.item_id) == item_id)
                .order_by(col(WorklistEvent.id))
            ).all()
        )


def _item(item_id: str) -> WorklistItem:
    with session_scope() as session:
        item = session.get(WorklistItem, item_id)
        assert item is not None
        return item


@pytest.mark.parametrize("contact", CONTACTS)
def test_resolving_with_a_contact_records_it_on_the_item_its_history_and_the_answer(
    client: TestClient, contact: str
) -> None:
    pathway = unique("contact")
    item_id = add_item(add_patient(), pathway, "red")
    doctor = headers(subject="clinician:doctor-2")
    body = {"note": "ringte pasienten", "contact": contact}
    done = client.post(f"/api/worklist/{item_id}/resolve", json=body, headers=doctor)
    assert done.status_code == 200, done.text
    assert_documented("POST", ROUTE, done)
    view = done.json()
    assert (view["status"], view["contact"], view["note"]) == (
        "resolved",
        contact,
        "ringte pasienten",
    )
    assert view["resolved"]["by"] == "clinician:doctor-2"

    item = _item(item_id)
    assert (item.status, item.contact, item.resolved_by) == (
        "resolved",
        contact,
        "clinician:doctor-2",
    )
    [event] = _events(item_id)
    assert (event.change, event.actor) == ("resolved", "clinician:doctor-2")
    assert event.detail == {"contact": contact, "note": "ringte pasienten"}

    listed = client.get(
        "/api/worklist", params={"pathway": pathway, "status": "resolved"}, headers=headers()
    ).json()
    assert [(i["id"], i["contact"]) for i in listed["items"]] == [(item_id, contact)]


@pytest.mark.parametrize("body", [None, {}, {"note": "ferdig"}, {"contact": None}])
def test_resolving_without_a_contact_records_none_as_before(
    client: TestClient, body: dict[str, Any] | None
) -> None:
    item_id = add_item(add_patient(), unique("contact"), "yellow")
    done = client.post(f"/api/worklist/{item_id}/resolve", json=body, headers=headers())
    assert done.status_code == 200, done.text
    assert_documented("POST", ROUTE, done)
    assert (done.json()["status"], done.json()["contact"]) == ("resolved", None)
    assert _item(item_id).contact is None
    [event] = _events(item_id)
    note = (body or {}).get("note")
    assert event.detail == ({"note": note} if note else {})


@pytest.mark.parametrize(
    "contact", ["visit", "Phone", "PHYSICAL", "", " phone", "fysisk", 2, True, ["phone"]]
)
def test_an_unknown_contact_is_422_and_changes_nothing(client: TestClient, contact: Any) -> None:
    item_id = add_item(add_patient(), unique("contact"), "red")
    body = {"note": "ringte", "contact": contact}
    refused = client.post(f"/api/worklist/{item_id}/resolve", json=body, headers=headers())
    assert refused.status_code == 422, refused.text
    answer = refused.json()
    assert answer["error"] == "invalid request"
    assert [p["location"] for p in answer["problems"]] == ["contact"]
    item = _item(item_id)
    assert (item.status, item.contact, item.note, item.resolved_by) == ("open", None, None, None)
    assert item.open_key is not None
    assert _events(item_id) == []
    with session_scope() as session:
        audits = session.exec(
            select(AuditEvent.action).where(col(AuditEvent.target) == item_id)
        ).all()
        assert "worklist.resolved" not in audits


def test_an_unknown_contact_is_refused_by_the_use_case_too(service: Service) -> None:
    """A caller that skips the HTTP body model (a script, the page) meets the same rule."""
    item_id = add_item(add_patient(), unique("contact"), "red")
    actor = Principal("clinician:script", "clinician", pathways=frozenset({"*"}))
    with pytest.raises(Unprocessable, match="unknown contact"):
        worklist.resolve(item_id, actor, contact="visit")
    assert _item(item_id).status == "open"


def test_open_items_show_no_contact_and_the_document_names_the_five(
    client: TestClient,
) -> None:
    pathway = unique("contact")
    item_id = add_item(add_patient(), pathway, "green")
    listed = client.get("/api/worklist", params={"pathway": pathway}, headers=headers())
    assert listed.status_code == 200
    assert_documented("GET", "/api/worklist", listed)
    [item] = listed.json()["items"]
    assert (item["id"], item["contact"]) == (item_id, None)

    document = create_app().openapi()
    schemas = document["components"]["schemas"]
    shown = schemas["WorklistItem"]["properties"]["contact"]
    assert "contact" in schemas["WorklistItem"]["required"]
    assert {"enum": CONTACTS, "type": "string"} in shown["anyOf"]
    operation = document["paths"][ROUTE]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    refs = [s["$ref"] for s in body.get("anyOf", [body]) if "$ref" in s]
    [resolve_body] = [schemas[ref.rsplit("/", 1)[1]] for ref in refs]
    accepted = resolve_body["properties"]["contact"]
    assert {"enum": CONTACTS, "type": "string"} in accepted["anyOf"]
    assert list(get_args(ContactName)) == CONTACTS == list(worklist.CONTACTS)
