"""GET /api/reports/tertial (the WMGA28 list) on a small hand-made history, on the embedded
default and on PostgreSQL: every expected row below was worked out by hand from the rows
written here (docs/statistics.md, "The CSV downloads"). Tertial 3 of 2026 is 1 September
00:00 Oslo (31 August 22:00 UTC) to 1 January 2027 00:00 Oslo (31 December 23:00 UTC).
The national ids are synthetic, under a test system of their own."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from store.db import session_scope
from store.models import AuditEvent, Patient, Resource, new_id
from tests.conftest import Service
from tests.integration.api_rows import add_item, add_patient, headers, unique
from tests.integration.stats_rows import end_enrolment, enrol, oslo, publish_scheduled

HEADER = "national_id,pathway,enrolled,forms,none,digital,phone,video,physical"
T3 = {"year": "2026", "tertial": "3"}


@dataclass(frozen=True)
class History:
    p: str  # published with a questionnaire
    p2: str  # not published: no forms count
    elsewhere: str  # not granted to the clinician below
    ids: tuple[str, ...]  # every national id written


def person(system: str, national_id: str | None) -> str:
    patient_id = new_id("p")
    with session_scope() as session:
        session.add(
            Patient(
                id=patient_id,
                identifier_system=system if national_id else None,
                identifier_value=national_id,
                name="Testpasient Syntetisk",
                resource={"resourceType": "Patient", "id": patient_id},
            )
        )
    return patient_id


def form(patient: str, url: str, authored: dt.datetime, withdrawn: bool = False) -> None:
    """A QuestionnaireResponse written (authored) at ``authored``, received two hours later."""
    with session_scope() as session:
        session.add(
            Resource(
                id=new_id("qr"),
                resource_type="QuestionnaireResponse",
                patient_id=patient,
                body={"resourceType": "QuestionnaireResponse"},
                canonical_url=url,
                data_time=authored,
                received_at=authored + dt.timedelta(hours=2),
                withdrawn=withdrawn,
            )
        )


def resolved(patient: str, pathway: str, at: dt.datetime, contact: str | None) -> None:
    add_item(patient, pathway, "yellow", status="resolved", resolved_at=at, contact=contact)


@pytest.fixture(scope="module")
def history(service: Service) -> History:
    p, p2, elsewhere = unique("tertial"), unique("tertial-two"), unique("tertial-else")
    url = publish_scheduled(p)
    system = f"urn:test:{p}"  # literal national ids, unique under this system
    a, b, c = person(system, "11111111111"), person(system, "22222222222"), person(system, "3" * 11)
    d, e, g = person(system, "44444444444"), person(system, "5" * 11), person(system, "6" * 11)
    h, f = person(system, None), person(system, "77777777777")
    # A: since 10 March. Forms in T3: 1 Sep 00:30 Oslo and 5 Oct; not the one of 31 Aug
    # 23:30 Oslo (T2, though received in T3), the withdrawn one, the one to another
    # questionnaire, nor the one of 1 Jan 2027 00:30 Oslo. Contacts in T3: phone,
    # physical, one not recorded (no column); digital on 20 Aug is T2, video in 2027.
    enrol(a, p, oslo(3, 10), own=False)
    form(a, url, oslo(8, 31, 23, 30))
    form(a, url, oslo(9, 1, 0, 30))
    form(a, url, oslo(10, 5))
    form(a, url, oslo(11, 5), withdrawn=True)
    form(a, "http://example.no/fhir/Questionnaire/another", oslo(10, 6))
    form(a, url, oslo(1, 1, 0, 30, year=2027))
    resolved(a, p, oslo(9, 15), "phone")
    resolved(a, p, oslo(10, 20), "physical")
    resolved(a, p, oslo(11, 1), None)
    resolved(a, p, oslo(8, 20), "digital")
    resolved(a, p, oslo(1, 1, 0, 30, year=2027), "video")
    resolved(a, elsewhere, oslo(10, 1), "phone")
    # A in p2 from 2 Sep: p2 has no questionnaire, so no forms; one phone contact.
    enrol(a, p2, oslo(9, 2), own=False)
    resolved(a, p2, oslo(10, 10), "phone")
    # B: enrolled 1 Sep 00:15 Oslo (31 Aug UTC). The form of 00:10 came before it; the
    # one of 20 Sep counts. Contacts: none on 31 Dec 23:30 Oslo, digital, video.
    enrol(b, p, oslo(9, 1, 0, 15), own=False)
    form(b, url, oslo(9, 1, 0, 10))
    form(b, url, oslo(9, 20))
    resolved(b, p, oslo(12, 31, 23, 30), "none")
    resolved(b, p, oslo(10, 1), "digital")
    resolved(b, p, oslo(10, 2), "video")
    # C: 5 Jan to 10 Sep (followed). The form of 5 Sep counts, not the one after the end;
    # the phone contact of 11 Sep (after the end, in T3) counts.
    enrol(c, p, oslo(1, 5), own=False, active=False)
    end_enrolment(c, p, oslo(9, 10))
    form(c, url, oslo(9, 5))
    form(c, url, oslo(9, 12))
    resolved(c, p, oslo(9, 11), "phone")
    # D: 1 Feb to 31 Aug 23:00 Oslo: T2 only. E: starts 1 Jan 2027 00:30 Oslo: not in T3.
    enrol(d, p, oslo(2, 1), own=False, active=False)
    end_enrolment(d, p, oslo(8, 31, 23, 0))
    enrol(e, p, oslo(1, 1, 0, 30, year=2027), own=False)
    # G since 1 June, H (no national id) since 1 May: nothing else. F: in `elsewhere` only.
    enrol(g, p, oslo(6, 1), own=True)
    enrol(h, p, oslo(5, 1), own=False)
    enrol(f, elsewhere, oslo(9, 5), own=False)
    ids = ("11111111111", "22222222222", "3" * 11, "44444444444", "5" * 11, "6" * 11)
    return History(p, p2, elsewhere, (*ids, "77777777777"))


def report(client: TestClient, auth: dict[str, str], **params: str) -> list[str]:
    answer = client.get("/api/reports/tertial", params=params, headers=auth)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.text.endswith("\r\n")
    return answer.text.split("\r\n")[:-1]


def test_tertial_3_row_by_row(client: TestClient, history: History) -> None:
    p, p2 = history.p, history.p2
    auth = headers(pathways=[p, p2])
    answer = client.get("/api/reports/tertial", params=T3, headers=auth)
    disposition = answer.headers["content-disposition"]
    assert disposition == 'attachment; filename="wmga28-2026-T3.csv"'
    assert report(client, auth, **T3) == [
        HEADER,
        f",{p},2026-05-01,0,0,0,0,0,0",  # H: no national id, nothing in T3
        f"11111111111,{p},2026-03-10,2,0,0,1,0,1",
        f"22222222222,{p},2026-09-01,1,1,1,0,1,0",
        f"33333333333,{p},2026-01-05,1,0,0,1,0,0",
        f"66666666666,{p},2026-06-01,0,0,0,0,0,0",
        f"11111111111,{p2},2026-09-02,0,0,0,1,0,0",
    ]


def test_tertial_2_for_one_pathway(client: TestClient, history: History) -> None:
    p = history.p
    auth = headers(pathways=[p])
    answer = client.get("/api/reports/tertial", params={"year": 2026, "tertial": 2, "pathway": p})
    assert answer.status_code == 401
    assert report(client, auth, year="2026", tertial="2", pathway=p) == [
        HEADER,
        f",{p},2026-05-01,0,0,0,0,0,0",
        f"11111111111,{p},2026-03-10,1,0,1,0,0,0",  # the form of 31 Aug 23:30; digital
        f"33333333333,{p},2026-01-05,0,0,0,0,0,0",
        f"44444444444,{p},2026-02-01,0,0,0,0,0,0",  # ended 31 Aug 23:00 Oslo
        f"66666666666,{p},2026-06-01,0,0,0,0,0,0",
    ]
    # A tertial nobody was followed in: the header only.
    assert report(client, auth, year="2025", tertial="1", pathway=p) == [HEADER]


def test_the_download_is_audited_without_any_national_id_and_nothing_is_logged(
    client: TestClient, history: History, caplog: pytest.LogCaptureFixture
) -> None:
    subject = unique("clinician:wmga28")
    auth = headers(pathways=[history.p, history.p2], subject=subject)
    with caplog.at_level(logging.DEBUG):
        lines = report(client, auth, **T3)
    assert len(lines) == 7
    assert caplog.records  # the access line at least: the check below looked at something
    logged = "\n".join(f"{r.getMessage()} {r.args!r} {r.__dict__!r}" for r in caplog.records)
    assert not [n for n in history.ids if n in logged]
    with session_scope() as session:
        rows = session.exec(select(AuditEvent).where(col(AuditEvent.actor) == subject)).all()
    assert [(r.action, r.target, r.patient_id) for r in rows] == [("report.tertial", None, None)]
    assert rows[0].detail == {
        "year": 2026,
        "tertial": 3,
        "pathways": [history.p, history.p2],
        "rows": 6,
        "patients": 5,
    }
    assert not [n for n in history.ids if n in json.dumps(rows[0].detail)]


def test_a_pathway_not_granted_is_403_and_not_in_the_report(
    client: TestClient, history: History
) -> None:
    subject = unique("clinician:wmga28")
    auth = headers(pathways=[history.p], subject=subject)
    refused = client.get(
        "/api/reports/tertial", params={**T3, "pathway": history.elsewhere}, headers=auth
    )
    assert refused.status_code == 403
    same = client.get(f"/api/pathways/{history.elsewhere}", headers=auth)
    assert refused.json() == same.json()
    every = list(csv.reader(io.StringIO("\n".join(report(client, auth, **T3)))))
    assert {row[1] for row in every[1:]} == {history.p}
    assert "77777777777" not in {row[0] for row in every}
    with session_scope() as session:
        rows = session.exec(select(AuditEvent).where(col(AuditEvent.actor) == subject)).all()
    assert [r.target for r in rows] == [None]  # the refusal wrote nothing


def test_patients_and_callers_without_a_token_are_refused(client: TestClient) -> None:
    patient = add_patient()
    own = headers("patient", patient_id=patient)
    assert client.get("/api/reports/tertial", params=T3, headers=own).status_code == 403
    assert client.get("/api/reports/tertial", params=T3).status_code == 401
    assert client.get("/api/reports/tertial", params={"tertial": "9"}).status_code == 401


def test_bad_years_and_tertials_are_422_with_the_problems(client: TestClient) -> None:
    auth = headers()
    cases = [
        {"year": "2026", "tertial": "4"},
        {"year": "2026", "tertial": "0"},
        {"year": "1899", "tertial": "1"},
        {"year": "9001", "tertial": "1"},
        {"year": "twenty", "tertial": "1"},
        {"year": "2026"},
        {"tertial": "1"},
    ]
    for params in cases:
        answer = client.get("/api/reports/tertial", params=params, headers=auth)
        assert answer.status_code == 422, (params, answer.text)
        body = answer.json()
        assert body["error"] and body["problems"], params
