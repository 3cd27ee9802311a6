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


# HL7's own SDC PHQ-9 example, unaltered: Questionnaire-questionnaire-sdc-profile-example-PHQ9
# .json from the FHIR package hl7.fhir.uv.sdc 4.0.0-ballot (CC0-1.0; the npm registry).
HL7_FORM = json.loads(
    (Path(__file__).parents[1] / "samples" / "Questionnaire-sdc-phq9-hl7.json").read_text(
        encoding="utf-8"
    )
)


def test_hl7s_official_sdc_phq9_renders_and_submits_with_its_total_score(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its answers come from the contained ValueSet's expansion, their weights from the
    expansion's itemWeight property (0, 1, 2 and 4 in this file); its total score H1/TS
    (a calculatedExpression, type quantity) is the weights' sum."""
    with form_client(HL7_FORM) as client:
        tasks = Tasks(monkeypatch)
        patient = add_patient()
        task = tasks.add(patient, HL7_FORM)
        link = tasks.link(task)
        page = client.get(link)
        assert page.status_code == 200, page.text
        assert "<h1>Patient Health Questionnaire - 9 Item</h1>" in page.text
        assert page.text.count('type="radio"') == 9 * 4
        assert page.text.count("Nearly every day") == 9
        assert "total score: <span" in page.text
        names = field_names(page.text)
        (group,) = HL7_FORM["item"]
        questions = [names[item["text"]] for item in group["item"][:9]]
        answers = dict.fromkeys(questions, "1")  # "Several days": weight 1
        answers[questions[-1]] = "3"  # question 9, "Nearly every day": weight 4
        assert client.post(link, data=answers).status_code == 303

    stored = stored_response(task.task_id)
    assert stored is not None
    assert stored.body["questionnaire"] == f"{HL7_FORM['url']}|{HL7_FORM['version']}"
    (sent,) = stored.body["item"]
    *answered, total = sent["item"]
    assert [i["linkId"] for i in answered] == [f"H1/T1/Q{n}" for n in range(1, 10)]
    assert answered[0]["answer"] == [
        {
            "valueCoding": {
                "system": "http://example.org/CodeSystem/CSPHQ9",
                "code": "Several-days",
                "display": "Several days",
            }
        }
    ]
    assert total == {
        "linkId": "H1/TS",
        "text": "Patient health questionnaire 9 item total score",
        "answer": [{"valueQuantity": {"value": 12.0}}],  # 8 x 1 + 4
    }
