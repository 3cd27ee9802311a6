"""GET /api/stats.csv: the answer of GET /api/stats for the same query, one row per pathway
and bucket, every figure in its column (docs/statistics.md, "The CSV downloads"); the same
access rules and the same audit. On the embedded default and on PostgreSQL, on a small
history with a scheduled pathway (one of whose rules has a comma and a quote in its id,
which the CSV must quote) and a pathway without a schedule."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from store.db import session_scope
from store.models import AuditEvent, WorklistEvent
from tests.conftest import Service
from tests.integration.api_rows import add_item, add_patient, headers, unique
from tests.integration.stats_rows import enrol, events, oslo, publish_scheduled, upload, utc

ODD_RULE = 'a,"b"'  # a rule id a CSV must quote
QUERY = {"from": "2026-01-01", "to": "2026-04-30", "by": "month"}


@dataclass(frozen=True)
class History:
    scheduled: str
    plain: str


@pytest.fixture(scope="module")
def history(service: Service) -> History:
    p, q = unique("csv"), unique("csv-plain")
    url = publish_scheduled(p)
    a, b = add_patient(), add_patient()
    enrol(a, p, oslo(12, 1, year=2025), own=True)
    enrol(b, p, oslo(2, 10), own=False)
    enrol(a, q, oslo(1, 5), own=False)
    kind = "QuestionnaireResponse"
    _, r1 = upload(a, p, kind, oslo(1, 3), "red", url=url, fired=["much-pain", ODD_RULE])
    upload(a, p, kind, oslo(2, 2), "green", url=url)
    upload(b, p, kind, oslo(3, 12), "yellow", url=url, fired=[ODD_RULE])
    upload(a, q, "Observation", oslo(1, 20), "green")
    item = add_item(a, p, "red", utc(1, 4), "resolved", created=utc(1, 3))
    events(
        item,
        (utc(1, 3), "triage", "created", "red"),
        (utc(1, 3, 15), "dr-a", "acknowledged", "red"),
        result=r1,
    )
    with session_scope() as session:
        override = WorklistEvent(item_id=item, at=utc(1, 3, 16), actor="dr-a", change="override")
        override.level, override.detail = "yellow", {"engine_level": "red", "reason": "vurdert"}
        session.add(override)
    add_item(
        a, q, "yellow", None, "resolved", created=utc(2, 1), resolved_at=utc(2, 3), contact="video"
    )
    return History(p, q)


def flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(value, dict):
        return {prefix: value}
    out: dict[str, Any] = {}
    for key, inner in value.items():
        out |= flat(inner, f"{prefix}.{key}" if prefix else key)
    return out


def as_cell(value: Any) -> str:
    return "" if value is None else str(value)


def test_the_csv_holds_the_figures_of_the_json(client: TestClient, history: History) -> None:
    auth = headers(pathways=[history.scheduled, history.plain])
    body = client.get("/api/stats", params=QUERY, headers=auth).json()
    answer = client.get("/api/stats.csv", params=QUERY, headers=auth)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["content-disposition"] == (
        'attachment; filename="statistics-2026-01-01-2026-04-30-month.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(answer.text, newline="")))
    expected = [(p, b) for p in body["pathways"] for b in p["buckets"]]
    assert [(r["pathway"], r["first_day"]) for r in rows] == [
        (p["pathway"], b["first_day"]) for p, b in expected
    ]
    assert len(rows) == 8  # two pathways, four months
    rules = set()
    for row, (pathway, bucket) in zip(rows, expected, strict=True):
        figures = flat(bucket) | {"pathway": pathway["pathway"]}
        figures["overdue_now"] = pathway["overdue_now"]
        rules |= set(bucket["overrides"])
        for name, value in figures.items():
            if name == "scheduled":  # null: every scheduled.* column is empty
                assert all(row[k] == "" for k in row if k.startswith("scheduled.")), row
                continue
            assert row[name] == as_cell(value), (name, row[name], value)
        # The columns beyond the JSON: rules with nothing in this bucket count zero.
        for name in set(row) - set(figures):
            if name.startswith("overrides."):
                assert row[name] == ("" if name.endswith(".share") else "0"), name
            else:
                assert name.startswith("scheduled.") and figures.get("scheduled", 0) is None
    assert rules == {"much-pain", ODD_RULE, "(otherwise)"}  # (otherwise): the green form
    # The figures this history is about, to be sure the comparison above compared some.
    january = rows[0]
    assert january["patients_followed.patients"] == "1"
    assert january["events.results.red"] == "1"
    assert january[f"overrides.{ODD_RULE}.fired"] == "1"
    assert january[f"overrides.{ODD_RULE}.raised"] == "0"
    assert january[f"overrides.{ODD_RULE}.lowered"] == "1"
    assert rows[2][f"overrides.{ODD_RULE}.fired"] == "1"  # March
    assert rows[2]["overrides.much-pain.fired"] == "0"
    assert rows[5]["contacts.video"] == "1"  # the plain pathway, February
    assert rows[4]["scheduled.answered"] == ""  # no schedule
    # The odd rule id is quoted, its quotes doubled, in the header line.
    assert '"overrides.a,""b"".fired"' in answer.text.split("\r\n")[0]


def test_one_pathway_and_weeks(client: TestClient, history: History) -> None:
    auth = headers(pathways=[history.scheduled])
    query = {**QUERY, "pathway": history.scheduled, "to": "2026-01-31", "by": "week"}
    body = client.get("/api/stats", params=query, headers=auth).json()
    answer = client.get("/api/stats.csv", params=query, headers=auth)
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="statistics-{history.scheduled}-2026-01-01-2026-01-31-week.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(answer.text, newline="")))
    buckets = body["pathways"][0]["buckets"]
    assert [(r["first_day"], r["last_day"]) for r in rows] == [
        (b["first_day"], b["last_day"]) for b in buckets
    ]
    assert [r["alert_load.opened"] for r in rows] == [
        str(b["alert_load"]["opened"]) for b in buckets
    ]


def test_the_same_access_and_audit_as_the_json(client: TestClient, history: History) -> None:
    subject = unique("clinician:csv")
    auth = headers(pathways=[history.plain], subject=subject)
    query = {**QUERY, "pathway": history.scheduled}
    refused = client.get("/api/stats.csv", params=query, headers=auth)
    assert refused.status_code == 403
    assert refused.json() == client.get("/api/stats", params=query, headers=auth).json()
    assert client.get("/api/stats.csv", params=QUERY).status_code == 401
    patient = add_patient()
    own = headers("patient", patient_id=patient)
    assert client.get("/api/stats.csv", params=QUERY, headers=own).status_code == 403
    bad = client.get("/api/stats.csv", params={**QUERY, "by": "year"}, headers=auth)
    assert bad.status_code == 422 and bad.json()["problems"]
    late = client.get("/api/stats.csv", params={**QUERY, "from": "2026-05-01"}, headers=auth)
    assert late.status_code == 422 and late.json()["problems"]
    answer = client.get("/api/stats.csv", params=QUERY, headers=auth)
    assert {r["pathway"] for r in csv.DictReader(io.StringIO(answer.text))} == {history.plain}
    with session_scope() as session:
        rows = session.exec(select(AuditEvent).where(col(AuditEvent.actor) == subject)).all()
    assert [(r.action, r.target, r.patient_id, r.detail) for r in rows] == [
        (
            "statistics.read",
            None,
            None,
            {
                "pathways": [history.plain],
                "first_day": "2026-01-01",
                "last_day": "2026-04-30",
                "by": "month",
            },
        )
    ]


def test_no_pathway_granted_gives_the_header_only(client: TestClient, history: History) -> None:
    auth = headers(pathways=[unique("nothing")])
    answer = client.get("/api/stats.csv", params=QUERY, headers=auth)
    lines = answer.text.split("\r\n")
    assert lines[1:] == [""]
    assert lines[0].startswith("pathway,overdue_now,first_day,last_day,start,end,")
    assert lines[0].endswith(",scheduled.silent_patients")
