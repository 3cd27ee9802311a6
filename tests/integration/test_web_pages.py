"""The clinicians' web pages (/app) as HTML, on the embedded default and on PostgreSQL +
Redis: sign-in, the worklist and its actions, the patient page, audit, language, headers."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from api.app import create_app
from api.auth import create_token
from runtime.settings import get_settings
from store.db import session_scope
from store.models import (
    AuditEvent,
    Enrolment,
    Patient,
    Reading,
    Resource,
    TriageResult,
    WorklistEvent,
    WorklistItem,
    new_id,
)
from tests.conftest import Service
from tests.integration.api_rows import add_item, add_patient, add_result, unique

EPILEPSY_FORM = "http://example.no/fhir/Questionnaire/epilepsy-followup"
GLUCOSE = "http://loinc.org|15074-8"


def token(pathways: list[str] | None = None, role: str = "clinician", **kw: str) -> str:
    if pathways is None and role != "patient":
        pathways = ["*"]
    return create_token(get_settings(), role=role, pathways=pathways, **kw)  # type: ignore[arg-type]


@pytest.fixture
def anonymous(service: Service) -> Iterator[TestClient]:
    with TestClient(create_app(), follow_redirects=False) as client:
        yield client


def signed_in(client: TestClient, pathways: list[str] | None = None, subject: str = "") -> None:
    subject = subject or f"clinician:{unique('nurse')}"
    response = client.post(
        "/app/login", data={"token": token(pathways, subject=subject)}, follow_redirects=False
    )
    assert response.status_code == 303, response.text


def national_id(patient_id: str) -> str:
    with session_scope() as session:
        patient = session.get(Patient, patient_id)
        assert patient is not None and patient.identifier_value
        return patient.identifier_value


def test_pages_need_the_cookie_and_login_takes_only_clinician_tokens(
    anonymous: TestClient,
) -> None:
    for path in ("/app", "/app/patients/p-x", "/app/unrouted", "/app/pathways"):
        response = anonymous.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/app/login"
    patient = anonymous.post(
        "/app/login", data={"token": token(role="patient", patient_id=add_patient())}
    )
    assert patient.status_code == 403
    assert "pasientnøkkel" in patient.text and "set-cookie" not in patient.headers
    assert anonymous.post("/app/login", data={"token": "not-a-token"}).status_code == 401
    assert anonymous.get("/app").status_code == 303

    response = anonymous.post("/app/login", data={"token": token()})
    assert response.status_code == 303 and response.headers["location"] == "/app"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    page = anonymous.get("/app")
    assert page.status_code == 200 and "<table" in page.text
    assert anonymous.post("/app/logout").status_code == 303
    assert anonymous.get("/app").status_code == 303


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


def _patient_with_answers_and_glucose() -> str:
    patient_id = add_patient("Ola Syntetisk")
    now = dt.datetime.now(dt.UTC)
    questionnaire = {
        "resourceType": "Questionnaire",
        "url": EPILEPSY_FORM,
        "status": "active",
        "item": [
            {"linkId": "seizure-count", "text": "Hvor mange anfall siden sist?", "type": "integer"}
        ],
    }
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": EPILEPSY_FORM,
        "subject": {"reference": f"Patient/{patient_id}"},
        "authored": now.isoformat(),
        "item": [{"linkId": "seizure-count", "answer": [{"valueInteger": 5}]}],
    }
    observation_id = new_id("obs")
    with session_scope() as session:
        if (
            session.exec(
                select(Resource).where(col(Resource.canonical_url) == EPILEPSY_FORM)
            ).first()
            is None
        ):
            session.add(
                Resource(
                    id=new_id("q"),
                    resource_type="Questionnaire",
                    canonical_url=EPILEPSY_FORM,
                    body=questionnaire,
                )
            )
        session.add(
            Resource(
                id=new_id("qr"),
                resource_type="QuestionnaireResponse",
                patient_id=patient_id,
                canonical_url=EPILEPSY_FORM,
                body=response,
                data_time=now,
            )
        )
        session.add(
            Resource(
                id=observation_id,
                resource_type="Observation",
                patient_id=patient_id,
                body={"resourceType": "Observation"},
                data_time=now,
            )
        )
        session.add(Enrolment(patient_id=patient_id, pathway_id="diabetes-cgm", thresholds={}))
        session.add(Enrolment(patient_id=patient_id, pathway_id="epilepsy", thresholds={}))
        session.flush()
        for i, value in enumerate([2.8, 5.5, 7.0, 12.0]):
            session.add(
                Reading(
                    resource_id=observation_id,
                    patient_id=patient_id,
                    code=GLUCOSE,
                    value=value,
                    unit="mmol/L",
                    time=now - dt.timedelta(hours=4 - i),
                )
            )
    add_result(patient_id, "epilepsy", "red", created=now)
    return patient_id


def test_patient_page_shows_questions_charts_history_and_writes_audit(
    anonymous: TestClient,
) -> None:
    patient_id = _patient_with_answers_and_glucose()
    subject = f"clinician:{unique('doc')}"
    signed_in(anonymous, None, subject)
    page = anonymous.get(f"/app/patients/{patient_id}")
    assert page.status_code == 200, page.text
    html = page.text
    assert re.search(r"Hvor mange anfall siden sist\?</th><td>5</td>", html)
    assert "grunn red" in html and "v1" in html and "cd" * 6 in html
    block = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', html, re.S)
    assert block is not None
    charts = json.loads(block.group(1))
    glucose = next(c for c in charts if c["name"] == "glucose")
    assert [p["v"] for p in glucose["points"]] == [2.8, 5.5, 7.0, 12.0]
    assert glucose["band"] == {"low": 3.9, "high": 10.0} and glucose["tir"] == 50.0
    assert f'data-chart="{glucose["id"]}"' in html
    with session_scope() as session:
        actions = set(
            session.exec(
                select(AuditEvent.action).where(
                    col(AuditEvent.patient_id) == patient_id, col(AuditEvent.actor) == subject
                )
            )
        )
    assert {"patient.read", "triage.read", "readings.read"} <= actions
    assert subject in anonymous.get(f"/app/patients/{patient_id}").text

    shown = anonymous.post(f"/app/patients/{patient_id}/identifier")
    assert shown.json() == {"identifier": national_id(patient_id)}
    with session_scope() as session:
        reveal = session.exec(
            select(AuditEvent).where(
                col(AuditEvent.patient_id) == patient_id,
                col(AuditEvent.action) == "patient.identifier.read",
            )
        ).one()
        assert reveal.actor == subject


def test_thresholds_are_saved_within_bounds_and_refused_outside(anonymous: TestClient) -> None:
    patient_id = _patient_with_answers_and_glucose()
    signed_in(anonymous)
    url = f"/app/patients/{patient_id}/enrolments"
    saved = anonymous.post(url, data={"pathway": "epilepsy", "t.seizures_red": "5"})
    assert saved.status_code == 303
    assert 'value="5"' in anonymous.get(saved.headers["location"]).text
    refused = anonymous.post(url, data={"pathway": "epilepsy", "t.seizures_red": "99"})
    assert refused.status_code == 422 and "outside 1..30" in refused.text
    with session_scope() as session:
        row = session.exec(
            select(Enrolment).where(
                col(Enrolment.patient_id) == patient_id, col(Enrolment.pathway_id) == "epilepsy"
            )
        ).one()
        assert row.thresholds == {"seizures_red": 5}


def test_a_follow_up_is_begun_on_a_given_day_and_ended_from_the_page(
    anonymous: TestClient,
) -> None:
    patient_id = _patient_with_answers_and_glucose()
    signed_in(anonymous, ["epilepsy", "copd", "hypertension-home-bp"])
    page = anonymous.get(f"/app/patients/{patient_id}").text
    form = page[page.index('class="enrol"') : page.index('id="h-audit"')]
    offered = re.findall(r'<option value="([^"]+)">', form)
    assert offered == ["copd", "hypertension-home-bp"], offered

    url = f"/app/patients/{patient_id}/enrolments"
    for day, words in [("2099-01-01", "in the future"), ("1.3.2026", "not a date")]:
        refused = anonymous.post(url, data={"pathway": "copd", "enrolled_on": day})
        assert refused.status_code == 422 and words in refused.text, refused.text[-500:]
    done = anonymous.post(url, data={"pathway": "copd", "enrolled_on": "2026-03-01"})
    assert done.status_code == 303
    page = anonymous.get(done.headers["location"]).text
    assert "i oppfølging siden 01.03.2026" in page
    assert '<option value="copd">' not in page, "enrolled: no longer offered"
    ended = anonymous.post(f"{url}/copd/end")
    assert ended.status_code == 303
    page = anonymous.get(ended.headers["location"]).text
    assert "oppfølgingen er avsluttet" in page
    assert '<option value="copd">' in page, "ended: can be enrolled again"
    assert anonymous.post(f"{url}/copd/end").status_code == 409
    with session_scope() as session:
        row = session.exec(
            select(Enrolment).where(
                col(Enrolment.patient_id) == patient_id, col(Enrolment.pathway_id) == "copd"
            )
        ).one()
        # Midnight on the Oslo clock (CET in March).
        assert row.enrolled_at == dt.datetime(2026, 2, 28, 23, 0, tzinfo=dt.UTC)
        assert (row.thresholds, row.active) == ({}, False)


def test_new_items_reach_the_polling_endpoint(anonymous: TestClient) -> None:
    pathway = unique("poll")
    signed_in(anonymous, [pathway])
    first = anonymous.get("/app/worklist.json", params={"pathway": pathway}).json()
    assert first["counts"]["red"] == 0
    item = add_item(add_patient(), pathway, "red")
    later = anonymous.get("/app/worklist.json", params={"pathway": pathway}).json()
    assert later["counts"]["red"] == 1 and f'data-item="{item}"' in later["rows"]
    assert re.fullmatch(r"\d\d:\d\d:\d\d", later["updated"])


def test_norwegian_by_default_english_on_request_and_remembered(anonymous: TestClient) -> None:
    signed_in(anonymous)
    assert '<html lang="nb">' in (nb := anonymous.get("/app").text) and "Arbeidsliste" in nb
    en = anonymous.get("/app", params={"lang": "en"})
    assert '<html lang="en">' in en.text and "Worklist" in en.text
    assert "lang=en" in en.headers["set-cookie"]
    assert '<html lang="en">' in anonymous.get("/app/pathways").text


def test_pages_carry_security_headers_and_no_inline_script(anonymous: TestClient) -> None:
    login = anonymous.get("/app/login")
    signed_in(anonymous)
    pages = [anonymous.get(path) for path in ("/app", "/app/pathways", "/app/unrouted")]
    assert "epilepsy.yaml" in pages[1].text and "seizures_red" in pages[1].text
    for response in (login, *pages):
        assert response.status_code == 200
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", response.text, re.S)
        assert all("src=" in attrs or "application/json" in attrs for attrs, _ in scripts)
    assert anonymous.get("/app/static/app.css").status_code == 200


OSLO_CLOCK = ZoneInfo("Europe/Oslo")


def _short(when: dt.datetime) -> str:
    """A data time as the page shows it: "28.11 08:05" this year, with the year otherwise."""
    here = when.astimezone(OSLO_CLOCK)
    this_year = here.year == dt.datetime.now(OSLO_CLOCK).year
    return here.strftime("%d.%m %H:%M" if this_year else "%d.%m.%Y %H:%M")


def _text(html: str) -> str:
    """What a person reads: tags out, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


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
    text = _text(row)
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
    assert "nyeste" not in _text(_row(html, same)), "the newest equals the held level"

    english = _text(
        _row(anonymous.get("/app", params={"pathway": pathway, "lang": "en"}).text, held)
    )
    assert "■ Red" in english and f"newest: ● green {_short(today)}" in english
    polled = anonymous.get("/app/worklist.json", params={"pathway": pathway, "lang": "nb"})
    assert f"nyeste: ● grønn {_short(today)}" in _text(_row(polled.json()["rows"], held))


def _store_result(
    patient_id: str,
    level: str,
    data_time: dt.datetime,
    *,
    kind: str = "upload",
    version: int = 1,
    reasons: Sequence[str] = (),
    undecided: list[dict[str, Any]] | None = None,
    made: dt.timedelta = dt.timedelta(seconds=2),
) -> str:
    result_id = new_id("tr")
    with session_scope() as session:
        session.add(
            TriageResult(
                id=result_id,
                task_key=f"{result_id}:epilepsy",
                patient_id=patient_id,
                pathway_id="epilepsy",
                version=version,
                sha256="cd" * 32,
                level=level,
                kind=kind,
                result={
                    "level": level,
                    "reasons": [{"rule": "r", "level": level, "text": t} for t in reasons],
                    "undecided": undecided or [],
                },
                sources=[],
                data_time=data_time,
                created=data_time + made,
                resource_id=new_id("qr") if kind == "upload" else None,
                resource_version=1 if kind == "upload" else None,
            )
        )
    return result_id


def _history(html: str) -> str:
    return html[html.index('id="h-history"') : html.index('id="h-answers"')]


def test_identical_consecutive_results_show_once_with_a_count_and_undecided_rules(
    anonymous: TestClient,
) -> None:
    patient_id = add_patient("Ida Identisk")
    with session_scope() as session:
        session.add(Enrolment(patient_id=patient_id, pathway_id="epilepsy", thresholds={}))
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=3)
    undecided = {
        "rule": "side-effects-severe",
        "level": "red",
        "lacking": ["side-effects"],
        "text": "Ikke avgjort: side-effects-severe mangler side-effects",
    }
    for hours in range(4):  # four the same, oldest first
        _store_result(
            patient_id,
            "yellow",
            start + dt.timedelta(hours=hours),
            reasons=["1 anfall siden sist"],
            undecided=[undecided],
        )
    _store_result(patient_id, "red", start + dt.timedelta(days=1), reasons=["5 anfall"])
    _store_result(
        patient_id,
        "red",
        start + dt.timedelta(days=1),
        kind="rejudge",
        version=2,
        reasons=["5 anfall"],
        made=dt.timedelta(hours=2),  # judged again later, of the same data
    )
    signed_in(anonymous)
    history = _history(anonymous.get(f"/app/patients/{patient_id}").text)
    rows = re.findall(r"<tr class=\"result-[a-z]+\">(.*?)</tr>", history, re.S)
    assert len(rows) == 3, [_text(r) for r in rows]
    rejudged, red, repeated = (_text(r) for r in rows)
    assert "Vurdert på nytt med versjon 2" in rejudged and "v2" in rejudged
    assert "Vurdert på nytt" not in red and "vurdert" in red  # an upload: when it was judged
    assert history.count("×4") == 1 and "×4" in rows[2]
    assert history.count("1 anfall siden sist") == 1
    first, last = (t.astimezone(OSLO_CLOCK) for t in (start, start + dt.timedelta(hours=3)))
    assert f"{first:%d.%m.%Y %H:%M} – {last:%d.%m.%Y %H:%M}" in repeated  # the time span
    assert re.search(
        r'<li class="undecided">.*Ikke avgjort: side-effects-severe mangler side-effects', rows[2]
    )
    assert "4 like resultater på rad" in repeated  # the count in words for a screen reader


def test_answers_show_the_option_text_the_patient_saw_not_its_code(
    anonymous: TestClient,
) -> None:
    patient_id = _patient_with_answers_and_glucose()
    version = unique("v")
    loinc = "http://loinc.org"
    options = [
        {"valueCoding": {"system": loinc, "code": code, "display": display}}
        for code, display in [
            ("LA6568-5", "Ikke i det hele tatt"),
            ("LA6570-1", "Nesten hver dag"),
            ("LA6571-9", "Mer enn halvparten av dagene"),
        ]
    ]
    questionnaire = {
        "resourceType": "Questionnaire",
        "url": EPILEPSY_FORM,
        "version": version,
        "status": "active",
        "item": [
            {
                "linkId": "tired",
                "text": "Hvor ofte har du vært trett?",
                "type": "choice",
                "answerOption": options,
            },
            {
                "linkId": "when",
                "text": "Når kom anfallene?",
                "type": "choice",
                "repeats": True,
                "answerOption": options,
            },
            {"linkId": "new-seizure-type", "text": "Ny type anfall?", "type": "boolean"},
        ],
    }
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": f"{EPILEPSY_FORM}|{version}",
        "subject": {"reference": f"Patient/{patient_id}"},
        "authored": dt.datetime.now(dt.UTC).isoformat(),
        "item": [
            {"linkId": "tired", "answer": [{"valueCoding": {"system": loinc, "code": "LA6570-1"}}]},
            {
                "linkId": "when",
                "answer": [
                    {"valueCoding": {"system": loinc, "code": "LA6568-5"}},
                    {"valueCoding": {"system": loinc, "code": "LA6571-9"}},
                ],
            },
            {"linkId": "new-seizure-type", "answer": [{"valueBoolean": False}]},
        ],
    }
    with session_scope() as session:
        # The form with this version, and a newer one without it that must not be used.
        for body, received in [
            (questionnaire, 1),
            ({**questionnaire, "version": "x", "item": []}, 2),
        ]:
            session.add(
                Resource(
                    id=new_id("q"),
                    resource_type="Questionnaire",
                    canonical_url=EPILEPSY_FORM,
                    body=body,
                    received_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=received),
                )
            )
        session.add(
            Resource(
                id=new_id("qr"),
                resource_type="QuestionnaireResponse",
                patient_id=patient_id,
                canonical_url=EPILEPSY_FORM,
                body=response,
                data_time=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1),
            )
        )
    signed_in(anonymous)
    html = anonymous.get(f"/app/patients/{patient_id}").text
    answers = html[html.index('id="h-answers"') : html.index('id="h-readings"')]
    assert re.search(r"Hvor ofte har du vært trett\?</th><td>Nesten hver dag</td>", answers)
    assert "LA6570-1" not in answers and "LA6568-5" not in answers
    repeated = re.search(r"Når kom anfallene\?</th><td>(.*?)</td>", answers, re.S)
    assert repeated is not None
    assert re.findall(r"<li>(.*?)</li>", repeated.group(1)) == [
        "Ikke i det hele tatt",
        "Mer enn halvparten av dagene",
    ]
    assert re.search(r"Ny type anfall\?</th><td>Nei</td>", answers)
    english = anonymous.get(f"/app/patients/{patient_id}", params={"lang": "en"}).text
    assert re.search(r"Ny type anfall\?</th><td>No</td>", english)
