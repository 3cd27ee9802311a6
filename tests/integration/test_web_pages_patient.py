"""A patient's page (/app/patients/...) as HTML, on the embedded default and on PostgreSQL +
Redis: the answers, charts and history with the audit of the read, thresholds saved within
their bounds, and a follow-up begun and ended from the page."""

from __future__ import annotations

import datetime as dt
import json
import re

from fastapi.testclient import TestClient
from sqlmodel import col, select

from store.db import session_scope
from store.models import AuditEvent, Enrolment
from tests.integration.api_rows import unique
from tests.integration.web_helpers import national_id, patient_with_answers_and_glucose, signed_in


def test_patient_page_shows_questions_charts_history_and_writes_audit(
    anonymous: TestClient,
) -> None:
    patient_id = patient_with_answers_and_glucose()
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
    patient_id = patient_with_answers_and_glucose()
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
    patient_id = patient_with_answers_and_glucose()
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
