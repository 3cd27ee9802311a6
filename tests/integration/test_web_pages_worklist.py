"""The worklist page (/app) as HTML, on the embedded default and on PostgreSQL + Redis: red
first with a word and a shape, pathways not granted, acknowledge, resolve and override from
the page, the polling endpoint, and a held level shown beside the newest."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import col, select

from store.db import session_scope
from store.models import WorklistEvent, WorklistItem
from tests.integration.api_rows import add_item, add_patient, unique
from tests.integration.web_helpers import OSLO_CLOCK, national_id, signed_in, visible_text


def test_worklist_lists_red_first_with_word_shape_and_masked_id(anonymous: TestClient) -> None:
    pathway = unique("web")
    now = dt.datetime.now(dt.UTC)
    green = add_item(add_patient(), pathway, "green", now + dt.timedelta(days=1))
    red_patient = add_patient("Kari Nordmann")
    red = add_item(
        red_patient,
        pathway,
        "red",
        now - dt.timedelta(hours=1),
        data_time=now - dt.timedelta(hours=2),
    )
    yellow = add_item(add_patient(), pathway, "yellow", now + dt.timedelta(days=2))
    signed_in(anonymous, [pathway])
    html = anonymous.get("/app", params={"pathway": pathway}).text
    order = re.findall(r'data-item="([^"]+)"', html)
    assert order == [red, yellow, green]
    red_row = html[html.index(f'data-item="{red}"') : html.index(f'data-item="{yellow}"')]
    assert "■" in red_row and "Rød" in red_row and "Kari Nordmann" in red_row
    full = national_id(red_patient)
    assert f"{full[:6]}*****" in red_row and full not in html
    assert "Over fristen" in red_row and "for 2 timer siden" in red_row
    assert "telefon" in red_row and "grunn red" in red_row
    assert "▲" in html and "●" in html and "Oppdatert" in html


def test_a_pathway_not_granted_is_refused_and_not_among_the_tabs(anonymous: TestClient) -> None:
    mine, other = unique("mine"), unique("other")
    add_item(add_patient(), other, "red")
    signed_in(anonymous, [mine])
    page = anonymous.get("/app")
    assert page.status_code == 200
    assert f"pathway={mine}" in page.text and other not in page.text
    refused = anonymous.get("/app", params={"pathway": other})
    assert refused.status_code == 403 and "Ikke tillatt" in refused.text
    assert refused.headers["content-type"].startswith("text/html")


def test_acknowledge_resolve_and_override_from_the_page(anonymous: TestClient) -> None:
    pathway = unique("act")
    item = add_item(add_patient(), pathway, "green")
    subject = f"clinician:{unique('nurse')}"
    signed_in(anonymous, [pathway], subject)
    back = f"/app?pathway={pathway}&status=open"

    done = anonymous.post(
        f"/app/items/{item}/override", data={"level": "red", "reason": "ringte selv", "back": back}
    )
    assert done.status_code == 303 and done.headers["location"] == back
    red, green = '<strong data-level="red">1</strong>', '<strong data-level="green">1</strong>'
    page = anonymous.get(back).text
    assert red in page and green not in page  # counted by the clinician's level
    assert f'data-item="{item}" data-level="red"' in page
    assert f"/app/items/{item}/clear-override" in page
    cleared = anonymous.post(f"/app/items/{item}/clear-override", data={"back": back})
    assert cleared.status_code == 303
    page = anonymous.get(back).text
    assert green in page and red not in page  # the engine's level again
    assert f'data-item="{item}" data-level="green"' in page
    assert f"/app/items/{item}/clear-override" not in page
    anonymous.post(
        f"/app/items/{item}/override", data={"level": "red", "reason": "ringte igjen", "back": back}
    )
    anonymous.post(f"/app/items/{item}/acknowledge", data={"back": back})
    assert item not in anonymous.get(back).text
    acked = anonymous.get("/app", params={"pathway": pathway, "status": "acknowledged"}).text
    assert item in acked
    anonymous.post(f"/app/items/{item}/resolve", data={"note": "snakket med pasienten"})
    refused = anonymous.post(
        f"/app/items/{item}/override", data={"level": "red", "reason": "for sent"}
    )
    assert refused.status_code == 409

    with session_scope() as session:
        row = session.get(WorklistItem, item)
        assert row is not None
        assert (row.status, row.override_level, row.resolved_by) == ("resolved", "red", subject)
        assert row.note == "snakket med pasienten"
        events = session.exec(
            select(WorklistEvent)
            .where(col(WorklistEvent.item_id) == item)
            .order_by(col(WorklistEvent.id))
        ).all()
        assert [(e.change, e.actor) for e in events] == [
            ("override", subject),
            ("override-cleared", subject),
            ("override", subject),
            ("acknowledged", subject),
            ("resolved", subject),
        ]


def test_new_items_reach_the_polling_endpoint(anonymous: TestClient) -> None:
    pathway = unique("poll")
    signed_in(anonymous, [pathway])
    first = anonymous.get("/app/worklist.json", params={"pathway": pathway}).json()
    assert first["counts"]["red"] == 0
    item = add_item(add_patient(), pathway, "red")
    later = anonymous.get("/app/worklist.json", params={"pathway": pathway}).json()
    assert later["counts"]["red"] == 1 and f'data-item="{item}"' in later["rows"]
    assert re.fullmatch(r"\d\d:\d\d:\d\d", later["updated"])


def _short(when: dt.datetime) -> str:
    """A data time as the page shows it: "28.11 08:05" this year, with the year otherwise."""
    here = when.astimezone(OSLO_CLOCK)
    this_year = here.year == dt.datetime.now(OSLO_CLOCK).year
    return here.strftime("%d.%m %H:%M" if this_year else "%d.%m.%Y %H:%M")


def _row(html: str, item: str) -> str:
    start = html.index(f'data-item="{item}"')
    end = html.find("<tr ", start)
    return html[start : end if end != -1 else len(html)]


def _held(item: str, reasons: list[dict[str, Any]], newest: dict[str, Any] | None) -> None:
    with session_scope() as session:
        row = session.get(WorklistItem, item)
        assert row is not None
        row.reasons, row.newest = reasons, newest
        session.add(row)


def test_a_held_red_row_shows_the_newest_green_beside_it_with_data_times(
    anonymous: TestClient,
) -> None:
    pathway = unique("held")
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    monday, today = now - dt.timedelta(days=2, hours=3), now - dt.timedelta(minutes=7)
    held = add_item(add_patient("Helge Holdt"), pathway, "red", now + dt.timedelta(hours=1))
    same = add_item(add_patient("Sara Samme"), pathway, "yellow", now + dt.timedelta(days=1))
    undecided = {
        "rule": "pulse-high",
        "level": "yellow",
        "lacking": ["pulse"],
        "text": "Ikke avgjort: pulse-high mangler pulse",
    }
    _held(
        held,
        [
            {"rule": "r1", "level": "red", "text": "5 anfall siden sist", "at": monday.isoformat()},
            {
                "rule": None,
                "level": "red",
                "kind": "withdrawn",
                "key": "withdrawn:qr-1:1",
                "text": "Trukket tilbake som feilregistrert: QuestionnaireResponse/qr-1",
                "at": monday.isoformat(),
            },
        ],
        {"level": "green", "at": today.isoformat(), "reasons": [], "undecided": [undecided]},
    )
    _held(
        same,
        [{"rule": "r1", "level": "yellow", "text": "grunn yellow", "at": today.isoformat()}],
        {"level": "yellow", "at": today.isoformat(), "reasons": [], "undecided": []},
    )
    signed_in(anonymous, [pathway])
    html = anonymous.get("/app", params={"pathway": pathway}).text
    row = _row(html, held)
    text = visible_text(row)
    # The held level first, the newest beside it: each in a word and a shape.
    assert "■ Rød" in text and f"nyeste: ● grønn {_short(today)}" in text, text
    assert f'<time datetime="{today.isoformat()}">' in row
    # Each reason keeps the time of its data; withdrawn data reads as a note, no alarm.
    assert f"5 anfall siden sist – data fra {_short(monday)}" in text
    withdrawn = re.search(r'<li class="reason-info">(.*?)</li>', row, re.S)
    assert withdrawn is not None and "Trukket tilbake" in withdrawn.group(1)
    assert "■" not in withdrawn.group(1) and "Til informasjon" in withdrawn.group(1)
    # What the newest data could not decide, greyed.
    assert re.search(r'class="undecided">.*Ikke avgjort: pulse-high mangler pulse', row)
    assert "nyeste" not in visible_text(_row(html, same)), "the newest equals the held level"

    english = visible_text(
        _row(anonymous.get("/app", params={"pathway": pathway, "lang": "en"}).text, held)
    )
    assert "■ Red" in english and f"newest: ● green {_short(today)}" in english
    polled = anonymous.get("/app/worklist.json", params={"pathway": pathway, "lang": "nb"})
    assert f"nyeste: ● grønn {_short(today)}" in visible_text(_row(polled.json()["rows"], held))


def _recommend(item: str, action: dict[str, Any] | None) -> None:
    with session_scope() as session:
        row = session.get(WorklistItem, item)
        assert row is not None
        row.action = action
        session.add(row)


def _chosen(row: str, item: str) -> str:
    """The value of the option preselected in a row's contact select."""
    select = re.search(rf'<select id="contact-{item}".*?</select>', row, re.S)
    assert select is not None, row
    chosen: list[str] = re.findall(r'<option value="([^"]*)" selected>', select.group(0))
    assert len(chosen) == 1, select.group(0)
    return chosen[0]


def test_resolving_from_the_page_offers_the_contact_with_the_pathways_preselected(
    anonymous: TestClient,
) -> None:
    pathway = unique("contact")
    phoned = add_item(add_patient(), pathway, "red")  # the pathway says phone
    silent = add_item(add_patient(), pathway, "yellow")
    seen = add_item(add_patient(), pathway, "green")
    _recommend(silent, None)  # the pathway says nothing
    _recommend(seen, {"consultation": "physical"})
    subject = f"clinician:{unique('nurse')}"
    signed_in(anonymous, [pathway], subject)
    html = anonymous.get("/app", params={"pathway": pathway}).text
    assert _chosen(_row(html, phoned), phoned) == "phone"
    assert _chosen(_row(html, silent), silent) == ""  # nothing preselected: choose or leave
    assert _chosen(_row(html, seen), seen) == "physical"
    row = _row(html, phoned)
    assert f'<label for="contact-{phoned}">Kontakt som ble gjennomført</label>' in row
    for words in ("Ikke registrert", "Ingen kontakt", "Digital (melding)", "Telefon", "Video"):
        assert f">{words}</option>" in row
    assert ">Oppmøte</option>" in row
    english = _row(anonymous.get("/app", params={"pathway": pathway, "lang": "en"}).text, phoned)
    assert "Contact that took place" in english and ">In person</option>" in english

    back = f"/app?pathway={pathway}&status=open"
    form = {f"contact-{phoned}": "video", f"note-{phoned}": "videotime", "back": back}
    done = anonymous.post(f"/app/items/{phoned}/resolve", data=form)
    assert done.status_code == 303 and done.headers["location"] == back
    unrecorded = anonymous.post(f"/app/items/{silent}/resolve", data={f"contact-{silent}": ""})
    assert unrecorded.status_code == 303
    refused = anonymous.post(f"/app/items/{seen}/resolve", data={f"contact-{seen}": "brev"})
    assert refused.status_code == 422

    with session_scope() as session:
        rows = {i: session.get(WorklistItem, i) for i in (phoned, silent, seen)}
        assert all(row is not None for row in rows.values())
        got = {i: (r.status, r.contact, r.note) for i, r in rows.items() if r is not None}
        assert got == {
            phoned: ("resolved", "video", "videotime"),
            silent: ("resolved", None, None),
            seen: ("open", None, None),
        }
        event = session.exec(
            select(WorklistEvent).where(col(WorklistEvent.item_id) == phoned)
        ).one()
        assert (event.change, event.actor, event.detail["contact"]) == (
            "resolved",
            subject,
            "video",
        )
    resolved = anonymous.get(
        "/app", params={"pathway": pathway, "status": "resolved", "lang": "nb"}
    ).text
    assert "Gjennomført: Video" in visible_text(_row(resolved, phoned))
    assert "Gjennomført" not in visible_text(_row(resolved, silent))
