"""GET /api/stats: staff only, a pathway not granted refused like everywhere else, every
call audited with the pathways and the period, and bad periods refused with the problems."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import col, select

from store.db import session_scope
from store.models import AuditEvent, Enrolment
from tests.integration.api_rows import add_patient, headers, unique

PERIOD = {"from": "2026-01-01", "to": "2026-03-31", "by": "month"}


def enrolled(pathway: str) -> str:
    patient = add_patient()
    with session_scope() as session:
        session.add(Enrolment(patient_id=patient, pathway_id=pathway, thresholds={}))
    return patient


def test_a_pathway_not_granted_is_403_and_not_counted(client: TestClient) -> None:
    mine, theirs = unique("stats-mine"), unique("stats-theirs")
    enrolled(mine), enrolled(theirs)
    auth = headers(pathways=[mine])
    refused = client.get("/api/stats", params={**PERIOD, "pathway": theirs}, headers=auth)
    assert refused.status_code == 403
    # The same refusal as the other routes give for a pathway not granted.
    assert refused.json() == client.get(f"/api/pathways/{theirs}", headers=auth).json()
    every = client.get("/api/stats", params=PERIOD, headers=auth)
    assert every.status_code == 200
    assert [p["pathway"] for p in every.json()["pathways"]] == [mine]


def test_a_patient_is_refused(client: TestClient) -> None:
    patient = add_patient()
    auth = headers("patient", patient_id=patient)
    assert client.get("/api/stats", params=PERIOD, headers=auth).status_code == 403
    assert client.get("/api/stats", params=PERIOD).status_code == 401


def test_every_call_is_audited_with_the_pathway_and_the_period(client: TestClient) -> None:
    pathway = unique("stats-audit")
    enrolled(pathway)
    subject = unique("clinician:stats")
    auth = headers(pathways=[pathway], subject=subject)
    answer = client.get("/api/stats", params={**PERIOD, "pathway": pathway}, headers=auth)
    assert answer.status_code == 200
    body = answer.json()
    assert (body["from"], body["to"], body["by"]) == ("2026-01-01", "2026-03-31", "month")
    assert len(body["pathways"][0]["buckets"]) == 3
    with session_scope() as session:
        rows = session.exec(select(AuditEvent).where(col(AuditEvent.actor) == subject)).all()
    assert [(r.action, r.target, r.patient_id) for r in rows] == [
        ("statistics.read", pathway, None)
    ]
    assert rows[0].detail == {
        "pathways": [pathway],
        "first_day": "2026-01-01",
        "last_day": "2026-03-31",
        "by": "month",
    }


def test_bad_periods_and_buckets_are_422_with_the_problems(client: TestClient) -> None:
    auth = headers()
    cases = [
        {**PERIOD, "by": "year"},
        {**PERIOD, "from": "2026-02-30"},
        {"to": "2026-01-01"},
        {**PERIOD, "from": "2026-04-01"},  # after `to`
        {"from": "2000-01-01", "to": "2026-01-01", "by": "week"},  # over 400 buckets
        {"from": "0001-01-01", "to": "9999-12-31"},
    ]
    for params in cases:
        answer = client.get("/api/stats", params=params, headers=auth)
        assert answer.status_code == 422, (params, answer.text)
        body = answer.json()
        assert body["error"] and body["problems"], params


def test_tertials_and_weeks_cut_on_the_oslo_calendar(client: TestClient) -> None:
    pathway = unique("stats-cut")
    enrolled(pathway)
    auth = headers(pathways=[pathway])
    query = {"pathway": pathway, "from": "2026-03-15", "to": "2026-12-31", "by": "tertial"}
    buckets = client.get("/api/stats", params=query, headers=auth).json()["pathways"][0]["buckets"]
    assert [(b["first_day"], b["last_day"]) for b in buckets] == [
        ("2026-03-15", "2026-04-30"),
        ("2026-05-01", "2026-08-31"),
        ("2026-09-01", "2026-12-31"),
    ]
    query = {"pathway": pathway, "from": "2026-03-25", "to": "2026-04-05", "by": "week"}
    buckets = client.get("/api/stats", params=query, headers=auth).json()["pathways"][0]["buckets"]
    # 25 March 2026 is a Wednesday; the clocks go forward on Sunday 29 March.
    assert [(b["first_day"], b["start"]) for b in buckets] == [
        ("2026-03-25", "2026-03-24T23:00:00+00:00"),
        ("2026-03-30", "2026-03-29T22:00:00+00:00"),
    ]
    assert buckets[0]["alert_load"]["per_day"] == 0.0  # over 5 days, nothing opened
