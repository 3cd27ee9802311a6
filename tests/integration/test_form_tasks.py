"""Form tasks (docs/tasks.md) on both databases: they appear on the dates of the schedule
chain (P1M after the enrolment, then P1M after each scheduled response; overdue P7D after
the due time), the periodic job is idempotent, the scheduled response completes its task
in the judging job's transaction and an unscheduled one does not, ending the follow-up
cancels the open task, and a pathway without a schedule has none. All times noon UTC."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from tests.conftest import Service
from tests.integration.api_rows import add_patient, headers, pathway_text, unique
from tests.integration.task_helpers import YAML, answer, enrolled, publish, states, tasks_of
from usecases.tasks import create_due_tasks


def noon(month: int, day: int) -> dt.datetime:
    return dt.datetime(2026, month, day, 12, tzinfo=dt.UTC)


def test_a_task_appears_on_its_due_date_once_and_the_answer_completes_it(
    service: Service, client: TestClient
) -> None:
    pathway = unique("tasks")
    publish(client, pathway)
    patient = enrolled(client, pathway, noon(1, 10))

    create_due_tasks(noon(2, 10) - dt.timedelta(seconds=1))
    assert states(patient) == []
    create_due_tasks(noon(2, 10))
    create_due_tasks(noon(2, 11))  # a second run creates nothing more
    assert states(patient) == [(noon(2, 10), "ready")]
    [task] = tasks_of(patient)
    assert task.until == noon(2, 17)  # overdue_after P7D
    assert task.questionnaire_url == f"http://example.no/fhir/Questionnaire/{pathway}"

    response = answer(client, pathway, patient, noon(2, 12))
    [task] = tasks_of(patient)
    assert (task.status, task.response_id, task.answered_at) == ("completed", response, noon(2, 12))
    assert task.version_id == 2

    create_due_tasks(noon(3, 12) - dt.timedelta(seconds=1))  # P1M after the answer
    assert len(tasks_of(patient)) == 1
    create_due_tasks(noon(3, 12))
    assert states(patient) == [(noon(2, 10), "completed"), (noon(3, 12), "ready")]


def test_an_unscheduled_response_leaves_the_task_open(service: Service, client: TestClient) -> None:
    pathway = unique("tasks")
    publish(client, pathway)
    patient = enrolled(client, pathway, noon(1, 10))
    create_due_tasks(noon(2, 10))
    answer(client, pathway, patient, noon(2, 9))  # a report the day before it fell due
    assert states(patient) == [(noon(2, 10), "ready")]
    create_due_tasks(noon(3, 20))  # still waiting: no second task while one is open
    assert states(patient) == [(noon(2, 10), "ready")]


def test_an_answer_stored_before_the_job_ran_completes_the_task_it_creates(
    service: Service, client: TestClient
) -> None:
    pathway = unique("tasks")
    publish(client, pathway)
    patient = enrolled(client, pathway, noon(1, 10))
    response = answer(client, pathway, patient, noon(2, 11))
    create_due_tasks(noon(2, 20))
    [task] = tasks_of(patient)
    assert (task.due, task.status, task.response_id) == (noon(2, 10), "completed", response)
    create_due_tasks(noon(4, 1))  # due 11 March (P1M after the answer), not answered
    assert states(patient) == [(noon(2, 10), "completed"), (noon(3, 11), "ready")]


def test_a_patient_enrolled_long_ago_gets_the_chain_answered_and_one_open_task(
    service: Service, client: TestClient
) -> None:
    pathway = unique("tasks")
    publish(client, pathway)
    patient = enrolled(client, pathway, noon(1, 10))
    for day in (noon(2, 10), noon(3, 15), noon(4, 15)):
        answer(client, pathway, patient, day)
    create_due_tasks(noon(6, 1))
    assert states(patient) == [
        (noon(2, 10), "completed"),  # answered at the due time exactly
        (noon(3, 10), "completed"),  # by the answer of 15 March
        (noon(4, 15), "completed"),  # by the answer of 15 April
        (noon(5, 15), "ready"),
    ]


def test_ending_the_follow_up_cancels_its_open_task_and_no_more_come(
    service: Service, client: TestClient
) -> None:
    pathway = unique("tasks")
    publish(client, pathway)
    patient = enrolled(client, pathway, noon(1, 10))
    answer(client, pathway, patient, noon(2, 10))
    create_due_tasks(noon(3, 10))
    ended = client.delete(
        f"/api/patients/{patient}/enrolments/{pathway}", headers=headers(pathways=[pathway])
    )
    assert ended.status_code == 200, ended.text
    assert states(patient) == [(noon(2, 10), "completed"), (noon(3, 10), "cancelled")]
    create_due_tasks(noon(9, 1))
    assert len(tasks_of(patient)) == 2


def test_a_pathway_without_a_schedule_has_no_tasks(service: Service, client: TestClient) -> None:
    pathway = unique("plain")
    author = {**headers("author", pathways=[pathway]), **YAML}
    published = client.put(
        f"/api/pathways/{pathway}", content=pathway_text(pathway), headers=author
    )
    assert published.status_code in (200, 201), published.text
    patient = add_patient()
    enrolment = client.post(
        f"/api/patients/{patient}/enrolments",
        json={"pathway": pathway, "enrolled_at": noon(1, 10).isoformat()},
        headers=headers(pathways=[pathway]),
    )
    assert enrolment.status_code == 201, enrolment.text
    create_due_tasks(noon(11, 1))
    assert tasks_of(patient) == []
