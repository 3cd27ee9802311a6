"""Waiting for an answer ("venter på svar", issue 14): the patients whose form task is
ready, the oldest first, with reminders sent and whether the answer is late; in the API and
on its page, for the pathways the clinician is granted, each patient shown audited; on both
databases."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlmodel import col, select

from store.db import session_scope
from store.models import AuditEvent, new_id
from store.notifications import Notification
from store.tasks import FormTask
from tests.integration.api_rows import add_patient, headers, unique
from tests.integration.web_helpers import token

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
DAY = dt.timedelta(days=1)


def task(patient: str, pathway: str, due: dt.datetime, status: str = "ready") -> str:
    row = FormTask(
        id=new_id("t"),
        patient_id=patient,
        pathway_id=pathway,
        due=due,
        until=due + 14 * DAY,
        questionnaire_url=f"http://example.no/fhir/Questionnaire/{pathway}",
        status=status,
    )
    with session_scope() as session:
        session.add(row)
    return row.id


def reminded(patient: str, pathway: str, task_id: str, n: int) -> None:
    with session_scope() as session:
        session.add(
            Notification(
                kind="reminder",
                patient_id=patient,
                pathway_id=pathway,
                task_id=task_id,
                idempotency_key=f"task:{task_id}:reminder:{n}",
            )
        )


def test_the_patients_waiting_to_answer(client: TestClient) -> None:
    pathway, elsewhere = unique("waiting"), unique("elsewhere")
    late, fresh, answered, other = (add_patient() for _ in range(4))
    late_task = task(late, pathway, NOW - 20 * DAY)
    reminded(late, pathway, late_task, 1)
    reminded(late, pathway, late_task, 2)
    fresh_task = task(fresh, pathway, NOW - 2 * DAY)
    task(answered, pathway, NOW - 5 * DAY, status="completed")
    task(other, elsewhere, NOW - 3 * DAY)

    mine = headers("clinician", pathways=[pathway], subject="dr-waiting")
    found = client.get(f"/api/worklist/waiting?pathway={pathway}", headers=mine)
    assert found.status_code == 200, found.text
    rows = found.json()["waiting"]
    assert [(r["task"], r["patient"], r["overdue"], r["reminders_sent"]) for r in rows] == [
        (late_task, late, True, 2),
        (fresh_task, fresh, False, 0),
    ]
    assert rows[0]["until"] == (NOW - 6 * DAY).isoformat()
    everything = client.get("/api/worklist/waiting", headers=mine).json()["waiting"]
    assert {r["patient"] for r in everything} == {late, fresh}  # not the other pathway's
    refused = client.get(f"/api/worklist/waiting?pathway={elsewhere}", headers=mine)
    assert refused.status_code == 403
    with session_scope() as session:
        audited = session.exec(
            select(AuditEvent.patient_id).where(
                col(AuditEvent.actor) == "dr-waiting", col(AuditEvent.action) == "tasks.read"
            )
        ).all()
    assert set(audited) == {late, fresh}

    web = TestClient(client.app)  # type: ignore[arg-type]
    web.post("/app/login", data={"token": token(role="clinician", pathways=[pathway])})
    page = web.get("/app/waiting")
    assert page.status_code == 200
    assert f'href="/app/patients/{late}"' in page.text
    assert f'href="/app/patients/{fresh}"' in page.text
    assert f'href="/app/patients/{answered}"' not in page.text
    assert page.text.count("Over svarfristen") == 1
    assert 'href="/app/waiting"' in web.get("/app").text  # linked from the worklist
