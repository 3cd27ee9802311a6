"""The patient form at /skjema/{token}, on both backends: the stored Questionnaire rendered,
errors next to their fields, enableWhen decided again on the server, the response stored
through the API's ingest, and a used, expired or altered link that gives nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from store.db import session_scope
from store.models import Outbox, new_id
from tests.conftest import Service
from tests.form_samples import SYSTEM, every_type
from tests.integration.api_rows import add_patient
from tests.integration.form_helpers import Tasks, field_names, form_client, publish, stored_response

FORM = every_type()


@pytest.fixture
def client(service: Service) -> Iterator[TestClient]:
    with form_client(FORM) as client:
        yield client


@pytest.fixture
def tasks(monkeypatch: pytest.MonkeyPatch) -> Tasks:
    return Tasks(monkeypatch)


def altered_link(link: str) -> str:
    return link[:-3] + ("AAA" if link[-3:] != "AAA" else "BBB")


def good_answers(names: dict[str, str]) -> dict[str, str]:
    return {
        names["Hvor vondt har du (0-10)?"]: "4",
        names["Vekt i kilo"]: "71,5",
        names["Har du hatt feber?"]: "true",
        names["Hvor mange dager med feber?"]: "2",
        names["Hvordan er humøret?"]: "1",
        names["Fortell om humøret"]: "Litt tungt",
        names["Dato for siste legebesøk"]: "2024-11-30",
        names["Hvem hjelper deg?"]: "Datteren min",
        names["Timer hjelp per uke"]: "3",
    }


def test_the_form_shows_every_item_type_from_the_stored_questionnaire(
    client: TestClient, tasks: Tasks
) -> None:
    link = tasks.link(tasks.add(add_patient(), FORM))
    page = client.get(link)
    assert page.status_code == 200
    html = page.text
    assert '<html lang="nb">' in html and "<h1>Oppfølging hjemme</h1>" in html
    names = field_names(html)
    assert set(names) >= {
        "Hvor vondt har du (0-10)?",
        "Vekt i kilo",
        "Har du hatt feber?",
        "Hvordan er humøret?",
        "Fortell om humøret",
        "Dato for siste legebesøk",
        "Hvem hjelper deg?",
        "Timer hjelp per uke",
    }
    assert f'<input type="date" id="{names["Dato for siste legebesøk"]}"' in html
    assert f'<textarea id="{names["Fortell om humøret"]}"' in html
    assert '<label for="' + names["Hvordan er humøret?"] + '-1">Nedstemt</label>' in html
    assert "<legend>Hjemme</legend>" in html  # the group
    assert "Svar bare hvis svaret på «Har du hatt feber?» er «ja»." in html
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


def test_errors_are_shown_next_to_their_fields_and_nothing_is_stored(
    client: TestClient, tasks: Tasks
) -> None:
    task = tasks.add(add_patient(), FORM)
    link = tasks.link(task)
    names = field_names(client.get(link).text)
    pain, fever = names["Hvor vondt har du (0-10)?"], names["Har du hatt feber?"]
    answers = {pain: "11", names["Vekt i kilo"]: "sytti"}
    page = client.post(link, data=answers)
    assert page.status_code == 422
    html = page.text
    assert 'id="error-summary"' in html and f'href="#{pain}"' in html
    assert f'id="{pain}-error"' in html and f'aria-describedby="{pain}-error"' in html
    assert "Tallet må være høyst 10." in html and "Svar på dette spørsmålet." in html
    assert f'id="{fever}" aria-describedby="{fever}-error"' in html
    assert 'value="sytti"' in html  # the answer is kept
    assert stored_response(task.task_id) is None
    assert client.get(link).status_code == 200  # still open


def test_a_submitted_form_is_stored_through_ingest_and_the_link_is_used(
    client: TestClient, tasks: Tasks
) -> None:
    patient = add_patient()
    task = tasks.add(patient, FORM)
    link = tasks.link(task)
    names = field_names(client.get(link).text)
    sent = client.post(link, data=good_answers(names))
    assert sent.status_code == 303 and sent.headers["location"] == f"{link}/takk"
    stored = stored_response(task.task_id)
    assert stored is not None and stored.patient_id == patient
    body = stored.body
    assert body["questionnaire"] == f"{FORM['url']}|2"
    assert body["status"] == "completed" and body["subject"] == {"reference": f"Patient/{patient}"}
    assert [i["linkId"] for i in body["item"]] == [
        "pain", "weight", "fever", "fever-days", "mood", "mood-note", "last-visit", "home",
    ]  # fmt: skip
    assert body["item"][4]["answer"] == [
        {"valueCoding": {"system": SYSTEM, "code": "low", "display": "Nedstemt"}}
    ]
    assert [i["linkId"] for i in body["item"][7]["item"]] == ["help", "help-hours"]
    with session_scope() as session:
        assert stored.outbox_id is not None and session.get(Outbox, stored.outbox_id) is not None
    thanks = client.get(f"{link}/takk")
    assert thanks.status_code == 200 and "Takk for svarene" in thanks.text
    for again in (client.get(link), client.post(link, data=good_answers(names))):
        assert again.status_code == 410
        assert "Denne lenken er brukt" in again.text and "<form" not in again.text


def test_an_item_enable_when_turns_off_is_not_required_and_not_sent(
    client: TestClient, tasks: Tasks
) -> None:
    task = tasks.add(add_patient(), FORM)
    link = tasks.link(task)
    names = field_names(client.get(link).text)
    answers = {
        names["Hvor vondt har du (0-10)?"]: "1",
        names["Har du hatt feber?"]: "false",
        names["Hvor mange dager med feber?"]: "ikke",  # off: neither checked nor sent
        names["Hvordan er humøret?"]: "0",
        names["Fortell om humøret"]: "fint",  # off: mood is "good", pain is not < 0
        names["Hvem hjelper deg?"]: "Nabo",
        names["Timer hjelp per uke"]: "5",  # off: pain is under 3
    }
    assert client.post(link, data=answers).status_code == 303
    stored = stored_response(task.task_id)
    assert stored is not None
    linked = [i["linkId"] for i in stored.body["item"]]
    assert linked == ["pain", "fever", "mood", "home"]
    assert [i["linkId"] for i in stored.body["item"][3]["item"]] == ["help"]


def test_expired_altered_unknown_or_borrowed_links_give_nothing(
    client: TestClient, tasks: Tasks
) -> None:
    patient = add_patient()
    expired = tasks.add(patient, FORM, ends_in=dt.timedelta(seconds=-1))
    cancelled = tasks.add(patient, FORM, status="cancelled")
    good = tasks.add(patient, FORM)
    link = tasks.link(good)
    altered = altered_link(link)
    unknown = tasks.link(dataclasses.replace(good, task_id=new_id("t")))  # no such task
    borrowed = tasks.link(dataclasses.replace(good, patient_id=add_patient()))
    cases = {
        tasks.link(expired): (410, "Denne lenken er utløpt"),
        tasks.link(cancelled): (410, "Denne lenken er utløpt"),
        altered: (404, "Denne lenken er ikke gyldig"),
        unknown: (404, "Denne lenken er ikke gyldig"),
        borrowed: (404, "Denne lenken er ikke gyldig"),
        "/skjema/eyJhbGciOiJIUzI1NiJ9.e30.x": (404, "Denne lenken er ikke gyldig"),
    }
    posted = {tasks.link(expired), altered}  # (the rate limit allows 10 failures a minute)
    for url, (status, text) in cases.items():
        sent = [client.get(url)] + ([client.post(url, data={"f1": "3"})] if url in posted else [])
        for response in sent:
            assert (response.status_code, text in response.text) == (status, True), url
            assert "<form" not in response.text and "Oppfølging" not in response.text
    assert stored_response(good.task_id) is None


def test_failed_links_are_rate_limited_per_address(
    service: Service, tasks: Tasks, make: object
) -> None:
    client = make(RATE_LIMIT_LOGIN_PER_MINUTE="3")  # type: ignore[operator]
    publish(client, FORM)
    link = tasks.link(tasks.add(add_patient(), FORM))
    for _ in range(3):
        assert client.get(altered_link(link)).status_code == 404
    refused = client.get(link)
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert "<form" not in refused.text
    other = make(RATE_LIMIT_LOGIN_PER_MINUTE="3")  # type: ignore[operator]
    assert other.get(link).status_code == 200  # another address is not held back


def test_a_form_with_only_optional_items_can_be_sent_empty(
    client: TestClient, tasks: Tasks
) -> None:
    optional = every_type() | {"item": [{"linkId": "note", "text": "Noe mer?", "type": "text"}]}
    publish(client, optional)
    task = tasks.add(add_patient(), optional)
    assert client.post(tasks.link(task), data={}).status_code == 303
    stored = stored_response(task.task_id)
    assert stored is not None and "item" not in stored.body
