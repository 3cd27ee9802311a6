"""The patient's half of the loop in the epilepsy pathway (a form every six months,
reminders after 3 and 7 days, overdue after 14), with the periodic jobs run at the moments
they would run, on both databases. Two patients enrolled at E, about 6 months and 10 days
ago, so that their first form fell due 10 days ago, at D = E + P6M:

- nothing is due the day before D; at D each gets a ready form task, its period D to
  D + 14 days, and a "task ready" event with the patient's link to the form;
- reminders go out at D + 3 days and D + 7 days, one each, none before, none twice;
- today (D + 10 days, inside the period: the link expires at its end) A answers through
  the web form: the task is completed with the response, the result (4 seizures: red) is
  on the worklist, A is shown the pathway's message, and the link is used;
- at D + 14 days B, who never answered, is overdue: yellow on the worklist; A is not;
- A's next form falls due six months after A's answer, not before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from seeds.questionnaires import EPILEPSY, questionnaires
from store.db import session_scope
from store.notifications import Notification
from store.tasks import FormTask
from tests.conftest import Service
from tests.integration.api_rows import add_patient, headers
from tests.integration.form_helpers import field_names, form_client
from tests.integration.stats_rows import enrol
from tests.integration.worker_rows import items_of
from triage.durations import parse_duration
from usecases.judging import job as jobs
from usecases.notifications import send_reminders
from usecases.periodic import mark_overdue
from usecases.tasks import create_due_tasks

FORM = next(q for q in questionnaires() if q["url"] == EPILEPSY)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


@pytest.fixture
def client(service: Service) -> Iterator[TestClient]:
    with form_client(FORM) as client:
        yield client


def tasks_of(patient: str) -> list[FormTask]:
    with session_scope() as session:
        found = select(FormTask).where(col(FormTask.patient_id) == patient)
        return list(session.exec(found.order_by(col(FormTask.due))))


def events_of(patient: str, kind: str) -> list[Notification]:
    with session_scope() as session:
        found = select(Notification).where(
            col(Notification.patient_id) == patient, col(Notification.kind) == kind
        )
        return list(session.exec(found))


def test_one_patient_through_the_loop(client: TestClient) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    every = parse_duration("P6M")
    enrolled = every.before(now - dt.timedelta(days=10))
    due = every.after(enrolled)
    patient, silent = add_patient(), add_patient()
    enrol(patient, "epilepsy", enrolled, own=False)
    enrol(silent, "epilepsy", enrolled, own=False)

    create_due_tasks(due - DAY)
    assert tasks_of(patient) == []
    create_due_tasks(due + HOUR)
    (task,) = tasks_of(patient)
    assert (task.status, task.due, task.until) == ("ready", due, due + 14 * DAY)
    mine = headers("patient", patient_id=patient)
    found = client.get(f"/fhir/Task?patient={patient}&status=ready", headers=mine).json()
    (entry,) = found["entry"]
    period = entry["resource"]["restriction"]["period"]
    assert (period["start"], period["end"]) == (due.isoformat(), (due + 14 * DAY).isoformat())
    (ready,) = events_of(patient, "task-ready")
    assert ready.task_id == task.id and ready.link is not None
    link = ready.link

    send_reminders(due + 2 * DAY)
    assert events_of(patient, "reminder") == []
    send_reminders(due + 3 * DAY + HOUR)
    send_reminders(due + 3 * DAY + 2 * HOUR)  # the same reminder is not sent twice
    assert len(events_of(patient, "reminder")) == 1
    send_reminders(due + 7 * DAY + HOUR)
    assert len(events_of(patient, "reminder")) == 2
    assert len(events_of(silent, "reminder")) == 2

    page = client.get(link)
    assert page.status_code == 200, page.text
    names = field_names(page.text)
    answers = {names["Hvor mange anfall har du hatt siden sist?"]: "4"}
    sent = client.post(link, data=answers)
    assert sent.status_code == 303, sent.text
    ((response_id, outbox_id),) = _responses(patient)
    assert jobs.triage_outbox(outbox_id) == "done"

    (done,) = tasks_of(patient)
    assert (done.status, done.response_id) == ("completed", response_id)
    read = client.get(f"/fhir/Task/{task.id}", headers=mine).json()
    assert read["status"] == "completed"
    assert (
        read["output"][0]["valueReference"]["reference"] == f"QuestionnaireResponse/{response_id}"
    )
    (item,) = items_of(patient)
    assert (item.level, item.status) == ("red", "open")
    said = client.get(f"{link}/status").json()
    assert said["judged"] is True and said["messages"]
    assert client.get(link).status_code == 410  # the link is used

    mark_overdue(due + 13 * DAY)
    assert items_of(silent) == []
    mark_overdue(due + 14 * DAY + HOUR)
    (late,) = items_of(silent)
    assert (late.pathway_id, late.level, late.status) == ("epilepsy", "yellow", "open")
    assert [i.level for i in items_of(patient)] == ["red"]  # answered: not overdue

    answered = done.answered_at
    assert answered is not None
    create_due_tasks(every.after(answered) - HOUR)
    assert len(tasks_of(patient)) == 1
    create_due_tasks(every.after(answered) + HOUR)
    assert [t.status for t in tasks_of(patient)] == ["completed", "ready"]


def _responses(patient: str) -> list[tuple[str, int]]:
    from store.models import Resource

    with session_scope() as session:
        found = select(Resource.id, Resource.outbox_id).where(
            col(Resource.patient_id) == patient,
            col(Resource.resource_type) == "QuestionnaireResponse",
        )
        return [(rid, box) for rid, box in session.exec(found) if box is not None]


def test_an_answer_taken_back_opens_the_same_link_again(client: TestClient) -> None:
    """A's answer through the web form is withdrawn (``entered-in-error``, a versioned PUT):
    the task is ready again, the same link shows the form again, and the new answer
    completes the task; the first answer's red item stays for a clinician."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    every = parse_duration("P6M")
    due = every.after(every.before(now - dt.timedelta(days=2)))
    patient = add_patient()
    enrol(patient, "epilepsy", every.before(now - dt.timedelta(days=2)), own=False)
    create_due_tasks(due + HOUR)
    ((ready,),) = [events_of(patient, "task-ready")]
    link = str(ready.link)
    names = field_names(client.get(link).text)
    question = names["Hvor mange anfall har du hatt siden sist?"]
    assert client.post(link, data={question: "4"}).status_code == 303
    ((first, box),) = _responses(patient)
    assert jobs.triage_outbox(box) == "done"
    assert client.get(link).status_code == 410

    mine = headers("patient", patient_id=patient)
    stored = client.get(f"/fhir/QuestionnaireResponse/{first}", headers=mine).json()
    body = {k: v for k, v in stored.items() if k != "meta"} | {"status": "entered-in-error"}
    put = client.put(f"/fhir/QuestionnaireResponse/{first}", json=body, headers=mine)
    assert put.status_code == 200, put.text
    for _, box in _responses(patient):
        jobs.triage_outbox(box)
    (task,) = tasks_of(patient)
    assert (task.status, task.response_id) == ("ready", None)

    again = client.get(link)
    assert again.status_code == 200, again.text
    assert client.post(link, data={question: "0"}).status_code == 303
    (second,) = [rid for rid, _ in _responses(patient) if rid != first]
    for _, box in _responses(patient):
        jobs.triage_outbox(box)
    (task,) = tasks_of(patient)
    assert (task.status, task.response_id) == ("completed", second)
    assert client.get(f"{link}/status").json()["judged"] is True
    assert client.get(link).status_code == 410
    assert [(i.level, i.status) for i in items_of(patient)] == [("red", "open")]
