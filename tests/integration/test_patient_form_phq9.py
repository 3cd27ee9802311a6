"""The PHQ-9 the depression pathway reads (rules/depression-phq9.yaml), answered through the
patient form: judged by the pathway onto the worklist, and the patient shown the pathway's
message, never a level."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from seeds.questionnaires import PHQ9, questionnaires
from tests.conftest import Service
from tests.integration.api_rows import add_patient
from tests.integration.form_helpers import Tasks, field_names, form_client, stored_response
from tests.integration.worker_rows import items_of
from usecases.judging import job as jobs

PHQ9_FORM = next(q for q in questionnaires() if q["url"] == PHQ9)
LEVEL_WORDS = ("grønn", "gul", "rød", "green", "yellow", "red", "nivå")


@pytest.fixture
def client(service: Service) -> Iterator[TestClient]:
    with form_client(PHQ9_FORM) as client:
        yield client


def test_a_phq9_sent_by_the_form_is_judged_onto_the_worklist(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = Tasks(monkeypatch)
    patient = add_patient()
    task = tasks.add(patient, PHQ9_FORM)
    link = tasks.link(task)
    page = client.get(link)
    assert page.status_code == 200 and "<h1>PHQ-9 og GAD-7</h1>" in page.text
    assert page.text.count('type="radio"') == 16 * 4 + 2  # PHQ-9, GAD-7, wants contact
    names = field_names(page.text)
    answers = {names[text]: "2" for text in list(names)[:8]}  # "more than half the days"
    answers[names[list(names)[8]]] = "0"  # question 9: "not at all"; PHQ-9 sum 16
    missing = client.post(link, data=dict(list(answers.items())[1:]))
    assert missing.status_code == 422  # question 1 is required
    assert client.post(link, data=answers).status_code == 303

    waiting = client.get(f"{link}/status").json()
    assert waiting == {"judged": False, "messages": []}
    stored = stored_response(task.task_id)
    assert stored is not None and stored.outbox_id is not None
    assert jobs.triage_outbox(stored.outbox_id) == "done"

    (item,) = items_of(patient)
    assert (item.pathway_id, item.level, item.status) == ("depression-phq9", "yellow", "open")
    assert item.reasons[0]["text"] == "PHQ-9 16 av 27: moderat alvorlige symptomer"
    said = client.get(f"{link}/status").json()
    assert said["judged"] is True
    (message,) = said["messages"]
    assert message.startswith("Takk! Vi ringer deg i løpet av en uke")
    thanks = client.get(f"{link}/takk").text
    assert message in thanks
    shown = thanks.lower()
    assert not [word for word in LEVEL_WORDS if f" {word}" in shown or f">{word}" in shown]
