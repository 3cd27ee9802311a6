"""The pages "Venter på svar" (patients waiting to answer their form) and "Varsler" (the
notification outbox) in a real headless Chromium against a real uvicorn server: reached
from the menu, showing a waiting patient (late, with two reminders) and the events written
for them, in bokmål and English, axe-core finding no serious or critical violation."""

from __future__ import annotations

import datetime as dt

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from store.db import session_scope
from store.models import new_id
from store.notifications import Notification
from store.tasks import FormTask
from tests.e2e.browser import sign_in
from tests.e2e.pages import GRANTED, no_serious_violations, token
from tests.integration.api_rows import add_patient

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def _signed_in(driver: webdriver.Chrome, base_url: str) -> None:
    sign_in(driver, base_url, token(GRANTED))


@pytest.fixture(scope="module")
def patient(base_url: str) -> str:
    """An epilepsy patient sent a form 20 days ago, reminded twice, not answered."""
    patient_id = add_patient("Wenche Ventesen")
    due = dt.datetime.now(dt.UTC) - dt.timedelta(days=20)
    task_id = new_id("t")
    with session_scope() as session:
        session.add(
            FormTask(
                id=task_id,
                patient_id=patient_id,
                pathway_id="epilepsy",
                due=due,
                until=due + dt.timedelta(days=14),
                questionnaire_url="http://example.no/fhir/Questionnaire/epilepsy-followup",
            )
        )
        for n, kind in enumerate(("task-ready", "reminder", "reminder")):
            session.add(
                Notification(
                    kind=kind,
                    patient_id=patient_id,
                    pathway_id="epilepsy",
                    task_id=task_id,
                    idempotency_key=f"task:{task_id}:{kind}:{n}",
                    status="logged",
                )
            )
    return patient_id


def test_the_waiting_patients_from_the_menu(
    driver: webdriver.Chrome, base_url: str, patient: str
) -> None:
    driver.get(f"{base_url}/app")
    driver.find_element(By.CSS_SELECTOR, 'nav a[href="/app/waiting"]').click()
    row = driver.find_element(By.CSS_SELECTOR, f'#waiting a[href="/app/patients/{patient}"]')
    cells = row.find_element(By.XPATH, "./ancestor::tr").find_elements(By.TAG_NAME, "td")
    assert cells[0].text == "Wenche Ventesen"
    assert "Over svarfristen" in cells[3].text and cells[4].text == "2"
    no_serious_violations(driver, "waiting page")
    driver.get(f"{base_url}/app/waiting?lang=en")
    assert "Past the answer-by date" in driver.find_element(By.ID, "waiting").text
    no_serious_violations(driver, "waiting page in English")


def test_the_notifications_page(driver: webdriver.Chrome, base_url: str, patient: str) -> None:
    driver.get(f"{base_url}/app/notifications?status=logged")
    assert patient in driver.page_source
    no_serious_violations(driver, "notifications page")
    driver.get(f"{base_url}/app/notifications?status=logged&lang=en")
    no_serious_violations(driver, "notifications page in English")
