"""A completed form task whose answer is taken back (docs/tasks.md), on both databases: a
response withdrawn as ``entered-in-error``, or corrected to a time before the task fell
due, no longer answers the task, so the task is ready again and a later answer completes
it; a correction that still answers it leaves it completed; and when the schedule has
already asked again (a later task), the later task stands and no second one opens."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from tests.conftest import Service
from tests.integration.api_rows import unique
from tests.integration.task_helpers import answer, correct, enrolled, publish, states, tasks_of
from usecases.tasks import create_due_tasks


def noon(month: int, day: int) -> dt.datetime:
    return dt.datetime(2026, month, day, 12, tzinfo=dt.UTC)


def _answered(client: TestClient) -> tuple[str, str, str]:
    pathway = unique("reopen")
    publish(client, pathway)
    patient = enrolled(client, pathway, noon(1, 10))
    create_due_tasks(noon(2, 10))
    response = answer(client, pathway, patient, noon(2, 12))
    assert states(patient) == [(noon(2, 10), "completed")]
    return pathway, patient, response


def test_a_withdrawn_answer_makes_its_task_ready_again_and_the_next_answer_completes_it(
    service: Service, client: TestClient
) -> None:
    pathway, patient, response = _answered(client)
    correct(client, patient, response, status="entered-in-error")
    [task] = tasks_of(patient)
    assert (task.status, task.response_id, task.answered_at) == ("ready", None, None)
    assert task.version_id == 3  # created, completed, reopened

    create_due_tasks(noon(3, 12))  # no new task while the reopened one waits
    assert states(patient) == [(noon(2, 10), "ready")]
    again = answer(client, pathway, patient, noon(2, 14))
    [task] = tasks_of(patient)
    assert (task.status, task.response_id, task.answered_at) == ("completed", again, noon(2, 14))


def test_an_answer_corrected_to_before_the_due_time_no_longer_answers_the_task(
    service: Service, client: TestClient
) -> None:
    _, patient, response = _answered(client)
    correct(client, patient, response, authored=noon(2, 13).isoformat())  # still answers
    [task] = tasks_of(patient)
    assert (task.status, task.response_id) == ("completed", response)

    correct(client, patient, response, authored=noon(2, 9).isoformat())  # before due
    assert states(patient) == [(noon(2, 10), "ready")]


def test_a_later_task_stands_and_the_old_one_is_not_reopened(
    service: Service, client: TestClient
) -> None:
    _, patient, response = _answered(client)
    create_due_tasks(noon(3, 12))  # P1M after the answer: the schedule asks again
    assert states(patient) == [(noon(2, 10), "completed"), (noon(3, 12), "ready")]
    correct(client, patient, response, status="entered-in-error")
    assert states(patient) == [(noon(2, 10), "completed"), (noon(3, 12), "ready")]
