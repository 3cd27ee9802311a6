"""The patient page shows the patient's form tasks (docs/tasks.md), on both databases:
answered, waiting for an answer, overdue (still open after its period), with the count of
reminders sent (none yet: the reminders are issue 14's notification work)."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from tests.conftest import Service
from tests.integration.api_rows import unique
from tests.integration.task_helpers import answer, enrolled, publish, states
from tests.integration.web_helpers import signed_in, visible_text
from usecases.tasks import create_due_tasks


def test_the_patient_page_lists_answered_waiting_and_overdue_tasks(
    service: Service, client: TestClient
) -> None:
    pathway = unique("tasks")
    publish(client, pathway)
    now = dt.datetime.now(dt.UTC)
    late = enrolled(client, pathway, now - dt.timedelta(days=75))
    waiting = enrolled(client, pathway, now - dt.timedelta(days=32))
    answer(client, pathway, late, now - dt.timedelta(days=40))  # a month after enrolling
    create_due_tasks(now)
    assert [s for _, s in states(late)] == ["completed", "ready"]  # due 10 days ago
    assert [s for _, s in states(waiting)] == ["ready"]  # due a day or two ago
    signed_in(client, [pathway])

    def tasks_shown(patient: str) -> str:
        """The page's section of form tasks (the menu also has a "Venter på svar" link)."""
        page = visible_text(client.get(f"/app/patients/{patient}").text)
        assert "Skjema til pasienten" in page
        return page.split("Skjema til pasienten", 1)[1]

    page = tasks_shown(late)
    assert "Besvart" in page and "Forfalt, ikke besvart" in page
    assert "Venter på svar" not in page
    page = tasks_shown(waiting)
    assert "Venter på svar" in page and "Forfalt" not in page
