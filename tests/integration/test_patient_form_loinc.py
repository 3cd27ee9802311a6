"""A PHQ-9 shaped as HL7's SDC example defines it (Questionnaire-phq9-loinc.json, among
the contract's samples and in tests/samples/: LOINC item codes, the answers in a contained
ValueSet named by ``answerValueSet``, each weighted, and the total score 44261-6 as an SDC
``calculatedExpression``) renders in the patient form with its answers, refuses a missing
required answer, and is stored through ingest as a QuestionnaireResponse whose answers are
the LOINC codings and whose total is the weights' sum; on both databases."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Service
from tests.integration.api_rows import add_patient
from tests.integration.form_helpers import Tasks, field_names, form_client, stored_response

# Kept with the tests as well as among the contract's samples (shared/contract/fhir/), so
# the test does not depend on a contract checkout that predates the file.
FORM = json.loads(
    (Path(__file__).parents[1] / "samples" / "Questionnaire-phq9-loinc.json").read_text(
        encoding="utf-8"
    )
)


@pytest.fixture
def client(service: Service) -> Iterator[TestClient]:
    with form_client(FORM) as client:
        yield client


def test_the_loinc_phq9_renders_and_submits(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = Tasks(monkeypatch)
    patient = add_patient()
    task = tasks.add(patient, FORM)
    link = tasks.link(task)
    page = client.get(link)
    assert page.status_code == 200, page.text
    assert page.text.count('type="radio"') == 9 * 4 + 4  # nine questions and the difficulty
    assert page.text.count("More than half the days") == 9
    assert "total score: <span" in page.text  # shown, worked out on submit
    assert "regnes ut av svarene dine" in page.text
    names = field_names(page.text)
    questions = [names[item["text"]] for item in FORM["item"][0]["item"]]
    answers = dict.fromkeys(questions, "1")  # "Several days", the second option
    assert client.post(link, data=dict(list(answers.items())[1:])).status_code == 422
    assert client.post(link, data=answers).status_code == 303

    stored = stored_response(task.task_id)
    assert stored is not None
    assert stored.body["questionnaire"] == f"{FORM['url']}|{FORM['version']}"
    group, total = stored.body["item"]  # the difficulty question was left unanswered
    assert [i["linkId"] for i in group["item"]] == [i["linkId"] for i in FORM["item"][0]["item"]]
    codings = {i["answer"][0]["valueCoding"]["code"] for i in group["item"]}
    assert codings == {"LA6569-3"}
    assert total["linkId"] == "/44261-6"
    (score,) = total["answer"]
    assert score["valueQuantity"]["value"] == 9  # nine answers of weight 1
    assert score["valueQuantity"]["code"] == "{score}"
