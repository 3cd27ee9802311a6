"""Rows for the statistics tests (test_statistics_*.py), written straight into the store:
enrolments, uploads with their results, the history of worklist items, a pathway version
with a schedule. Synthetic data only."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlmodel import col, select

from store.db import session_scope
from store.models import (
    AuditEvent,
    Enrolment,
    EnrolmentPeriod,
    PathwayVersion,
    Resource,
    TriageResult,
    WorklistEvent,
    new_id,
)
from tests.documented import assert_documented
from tests.integration.api_rows import headers

OSLO = ZoneInfo("Europe/Oslo")


def oslo(month: int, day: int, hour: int = 12, minute: int = 0, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=OSLO).astimezone(dt.UTC)


def utc(month: int, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=dt.UTC)


def enrol(patient: str, pathway: str, at: dt.datetime, own: bool, active: bool = True) -> None:
    """An enrolment and its period of follow-up from ``at``: open when ``active``, else
    closed at its start until :func:`end_enrolment` says when it ended."""
    with session_scope() as session:
        row = Enrolment(
            patient_id=patient,
            pathway_id=pathway,
            thresholds={"pain_red": 5} if own else {},
            enrolled_at=at,
            active=active,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        period = EnrolmentPeriod(
            enrolment_id=row.id,
            patient_id=patient,
            pathway_id=pathway,
            started_at=at,
            ended_at=None if active else at,
        )
        session.add(period)


def enrol_again(patient: str, pathway: str, at: dt.datetime) -> None:
    """A new period from ``at`` of an ended enrolment, as enrolling again writes it."""
    with session_scope() as session:
        row = session.exec(
            select(Enrolment).where(
                col(Enrolment.patient_id) == patient, col(Enrolment.pathway_id) == pathway
            )
        ).one()
        assert row.id is not None and not row.active
        row.enrolled_at, row.active = at, True
        session.add(row)
        session.add(
            EnrolmentPeriod(
                enrolment_id=row.id, patient_id=patient, pathway_id=pathway, started_at=at
            )
        )


def upload(
    patient: str,
    pathway: str,
    kind: str,
    received: dt.datetime,
    level: str,
    data_time: dt.datetime | None = None,
    withdrawn: bool = False,
    result_kind: str = "upload",
    url: str | None = None,
    fired: list[str] | None = None,
) -> tuple[str, str]:
    """A resource and its result for the pathway: (resource id, result id)."""
    resource_id = new_id("r")
    with session_scope() as session:
        session.add(
            Resource(
                id=resource_id,
                resource_type=kind,
                patient_id=patient,
                body={"resourceType": kind},
                data_time=data_time or received,
                received_at=received,
                withdrawn=withdrawn,
                canonical_url=url,
            )
        )
    at = data_time or received
    return resource_id, result(patient, pathway, resource_id, level, at, result_kind, fired)


def result(
    patient: str,
    pathway: str,
    resource_id: str,
    level: str,
    at: dt.datetime,
    kind: str,
    fired: list[str] | None = None,
) -> str:
    result_id = new_id("tr")
    with session_scope() as session:
        session.add(
            TriageResult(
                id=result_id,
                task_key=result_id,
                patient_id=patient,
                pathway_id=pathway,
                version=1,
                sha256="cd" * 32,
                level=level,
                result={"level": level, "fired": fired or []},
                sources=[],
                data_time=at,
                created=at,
                resource_id=resource_id,
                resource_version=1,
                kind=kind,
            )
        )
    return result_id


def events(
    item: str, *changes: tuple[dt.datetime, str, str, str], result: str | None = None
) -> None:
    """``(at, actor, change, level)`` rows of an item's history (the first names ``result``)."""
    with session_scope() as session:
        for n, (at, actor, change, level) in enumerate(changes):
            session.add(
                WorklistEvent(
                    item_id=item,
                    at=at,
                    actor=actor,
                    change=change,
                    level=level,
                    detail={},
                    result_id=result if n == 0 else None,
                )
            )


def end_enrolment(patient: str, pathway: str, at: dt.datetime) -> None:
    """What ending a follow-up writes: the enrolment's newest period closed at ``at``, the
    enrolment inactive, and the audit row ``enrolment.end``."""
    with session_scope() as session:
        period = session.exec(
            select(EnrolmentPeriod)
            .where(
                col(EnrolmentPeriod.patient_id) == patient,
                col(EnrolmentPeriod.pathway_id) == pathway,
            )
            .order_by(col(EnrolmentPeriod.started_at).desc())
        ).first()
        assert period is not None
        period.ended_at = at
        row = session.get(Enrolment, period.enrolment_id)
        assert row is not None
        row.active = False
        session.add_all([period, row])
        end = AuditEvent(actor="dr-a", role="clinician", action="enrolment.end", detail={})
        end.patient_id, end.target, end.at = patient, pathway, at
        session.add(end)


SCHEDULED = """\
pathway: {id}
title: Testforløp {id}
version: 1
applies_to:
  questionnaires:
    - http://example.no/fhir/Questionnaire/{id}
schedule:
  every: P1M
  overdue_after: P7D
inputs:
  pain: {{answer: pain, required: true}}
rules:
  - id: much-pain
    when: pain >= 7
    level: red
otherwise:
  level: green
tests:
  - name: lite smerte
    answers: {{pain: 1}}
    expect: green
"""


def publish_scheduled(pathway: str) -> str:
    """A version of ``pathway`` with a monthly schedule; the questionnaire's URL."""
    text = SCHEDULED.format(id=pathway)
    with session_scope() as session:
        session.add(
            PathwayVersion(
                pathway_id=pathway,
                version=1,
                sha256=hashlib.sha256(text.encode()).hexdigest(),
                title=f"Testforløp {pathway}",
                text=text,
            )
        )
    return f"http://example.no/fhir/Questionnaire/{pathway}"


def stats(client: TestClient, pathway: str) -> dict[str, Any]:
    """The figures of January to April 2026 by month for one pathway."""
    query = {"pathway": pathway, "from": "2026-01-01", "to": "2026-04-30", "by": "month"}
    response = client.get("/api/stats", params=query, headers=headers(pathways=[pathway]))
    assert response.status_code == 200, response.text
    assert_documented("GET", "/api/stats", response)
    body = response.json()
    assert [p["pathway"] for p in body["pathways"]] == [pathway]
    return body["pathways"][0]  # type: ignore[no-any-return]


def column(found: dict[str, Any], figure: str) -> list[Any]:
    return [bucket[figure] for bucket in found["buckets"]]
