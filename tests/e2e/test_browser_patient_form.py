"""The patient form in a real headless Chromium at 360 px (a phone) against a real uvicorn
server and a real Celery worker: every item type filled as a patient does, an item
``enableWhen`` shows, a mistake shown next to its field, then the answers sent reach the
clinicians' worklist and the patient reads the pathway's message (no level). axe-core finds
no serious or critical violation on the form, its errors and the thank-you page; nothing is
wider than the phone. The form task is the test's stand-in (the join point ``load_task``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from store.models import new_id
from tests.e2e import web_data
from tests.e2e.browser import chromium
from tests.e2e.pages import keep, no_serious_violations, waiting
from tests.form_samples import coding
from tests.integration.fhir_helpers import bearer
from usecases.patient_form import FormTaskView, form_link
from usecases.patient_form import form as form_module

pytestmark = pytest.mark.slow

EPILEPSY = "http://example.no/fhir/Questionnaire/epilepsy-followup"
SIDE = "http://example.no/fhir/CodeSystem/side-effects"
PHONE = (360, 800)
SIDE_EFFECTS = (("none", "Ingen"), ("mild", "Plagsomme"), ("severe", "Alvorlige"))
QUESTIONNAIRE: dict[str, Any] = {
    "resourceType": "Questionnaire",
    "url": EPILEPSY,
    "version": "web-1",
    "title": "Oppfølging av epilepsi",
    "status": "active",
    "language": "nb",
    "item": [
        {"linkId": "seizure-count", "text": "Hvor mange anfall har du hatt siden sist?",
         "type": "integer", "required": True},
        {"linkId": "new-seizure-type", "text": "Har du fått en ny type anfall?", "type": "boolean"},
        {"linkId": "seizure-kind", "text": "Beskriv den nye typen anfall", "type": "text",
         "required": True,
         "enableWhen": [{"question": "new-seizure-type", "operator": "=", "answerBoolean": True}]},
        {"linkId": "side-effects", "text": "Har du bivirkninger av medisinene?", "type": "choice",
         "answerOption": [{"valueCoding": {"system": SIDE, "code": c, "display": d}}
                          for c, d in SIDE_EFFECTS]},
        {"linkId": "about", "text": "Om deg", "type": "group", "item": [
            {"linkId": "weight", "text": "Vekt i kilo", "type": "decimal"},
            {"linkId": "last-seizure", "text": "Dato for siste anfall", "type": "date"},
            {"linkId": "medicine", "text": "Hvilken medisin bruker du?", "type": "string"},
            {"linkId": "mood", "text": "Humøret", "type": "choice",
             "answerOption": [coding("good", "Godt"), coding("low", "Nedstemt")]},
        ]},
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def link(api: httpx.Client) -> Iterator[tuple[str, str]]:
    """A stored Questionnaire, a patient, and a ready task's link (task: the stand-in)."""
    stored = api.post(
        "/fhir/Questionnaire",
        json=QUESTIONNAIRE,
        headers=bearer("author") | {"Content-Type": "application/fhir+json"},
    )
    assert stored.status_code in (200, 201), stored.text
    patient_id, _ = web_data.create_patient(api, "Siri", "Skjemasen")
    end = dt.datetime.now(dt.UTC) + dt.timedelta(days=14)
    task = FormTaskView(new_id("t"), patient_id, EPILEPSY, "web-1", end, "ready")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            form_module, "load_task", lambda _, task_id: task if task_id == task.task_id else None
        )
        yield patient_id, form_link(task)


@pytest.fixture(scope="module")
def phone(base_url: str) -> Iterator[webdriver.Chrome]:
    with chromium(PHONE) as browser:  # a phone's viewport (a window has a wider minimum)
        metrics = {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 2, "mobile": True}
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        yield browser


def field(driver: webdriver.Chrome, label: str) -> Any:
    """The field a label names, found as a person finds it: by the label's text."""
    for element in driver.find_elements(By.CSS_SELECTOR, "label"):
        if (element.get_attribute("textContent") or "").split(" (")[0].strip() == label:
            return driver.find_element(By.ID, element.get_attribute("for"))
    raise AssertionError(f"no field labelled {label!r}")


def choose(driver: webdriver.Chrome, question: str, answer: str) -> None:
    for fieldset in driver.find_elements(By.CSS_SELECTOR, "fieldset.question"):
        legend = fieldset.find_element(By.TAG_NAME, "legend").text.split(" (")[0]
        if legend == question:
            for option in fieldset.find_elements(By.CSS_SELECTOR, ".option label"):
                if option.text == answer:
                    option.click()
                    return
    raise AssertionError(f"no option {answer!r} for {question!r}")


def fits_the_phone(driver: webdriver.Chrome) -> None:
    width, viewport = driver.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth];"
    )
    assert viewport == PHONE[0]
    assert width <= PHONE[0], f"the page is {width} px wide on a {PHONE[0]} px phone"


def test_a_patient_fills_the_form_on_a_phone(
    phone: webdriver.Chrome, base_url: str, link: tuple[str, str]
) -> None:
    _, path = link
    phone.get(base_url + path)
    assert phone.find_element(By.TAG_NAME, "h1").text == "Oppfølging av epilepsi"
    assert phone.find_element(By.TAG_NAME, "html").get_attribute("lang") == "nb"
    no_serious_violations(phone, "patient form")
    fits_the_phone(phone)
    hidden = field(phone, "Beskriv den nye typen anfall")
    assert not hidden.is_displayed()  # enableWhen: only after "yes"

    field(phone, "Hvor mange anfall har du hatt siden sist?").send_keys("fem")  # a mistake
    choose(phone, "Har du fått en ny type anfall?", "Ja")
    waiting(phone, 5).until(lambda d: field(d, "Beskriv den nye typen anfall").is_displayed())
    field(phone, "Beskriv den nye typen anfall").send_keys("Rykninger i armen")
    choose(phone, "Har du bivirkninger av medisinene?", "Plagsomme")
    field(phone, "Vekt i kilo").send_keys("72,5")
    date = field(phone, "Dato for siste anfall")  # a date picker: its value as it keeps it
    phone.execute_script("arguments[0].value = '2024-11-28'", date)
    field(phone, "Hvilken medisin bruker du?").send_keys("Lamotrigin")
    choose(phone, "Humøret", "Godt")
    phone.find_element(By.CSS_SELECTOR, "form.patient-form button[type=submit]").click()

    waiting(phone, 10).until(lambda d: d.find_elements(By.ID, "error-summary"))
    count = field(phone, "Hvor mange anfall har du hatt siden sist?")
    error = phone.find_element(By.ID, count.get_attribute("aria-describedby"))
    assert error.text.endswith("Skriv et helt tall, for eksempel 3.")
    assert phone.switch_to.active_element.get_attribute("id") == "error-summary"
    assert count.get_attribute("value") == "fem"  # kept, as the other answers
    assert field(phone, "Hvilken medisin bruker du?").get_attribute("value") == "Lamotrigin"
    no_serious_violations(phone, "patient form with an error")
    fits_the_phone(phone)
    keep("patient-form-error", phone)

    count.clear()
    count.send_keys("5")
    phone.find_element(By.CSS_SELECTOR, "form.patient-form button[type=submit]").click()
    waiting(phone, 10).until(lambda d: d.current_url.endswith("/takk"))
    waiting(phone, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#outcome .message"))
    message = phone.find_element(By.CSS_SELECTOR, "#outcome .message").text
    assert message.startswith("Vi kontakter deg innen to uker for en time.")
    shown = phone.find_element(By.TAG_NAME, "body").text.lower()
    assert not [w for w in ("rød", "gul", "grønn", "red", "yellow", "green") if w in shown.split()]
    no_serious_violations(phone, "thank-you page")
    keep("patient-form-thanks", phone)

    phone.get(base_url + path)  # the link is used now
    assert "Denne lenken er brukt" in phone.find_element(By.TAG_NAME, "main").text
    assert not phone.find_elements(By.TAG_NAME, "form")


def test_the_answer_is_on_the_clinicians_worklist(api: httpx.Client, link: tuple[str, str]) -> None:
    patient_id, _ = link
    item = web_data.open_items(api).get((patient_id, "epilepsy"))
    assert item is not None and item["level"] == "red"
    assert item["reasons"][0]["text"] == "5 anfall siden sist (grense 3)"
