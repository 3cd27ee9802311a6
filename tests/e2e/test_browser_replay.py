"""The page "Prøv endring" in a real headless Chromium against a real uvicorn server and a
real Celery worker: an author opens it from the navigation, picks epilepsy, lowers
``seizures_red`` from 3 to 2 in the draft and tries it on the last 365 days. The worker runs
the replay job while the page waits for it; the report's matrix shows the counts worked out
by hand, Chart.js draws the before/after bars beside their table, axe-core finds no serious
or critical violation, an example case opens the patient page, and the language link keeps
the report. The screenshot goes to test-artifacts/replay.png (also docs/screenshots/ with
UPDATE_SCREENSHOTS=1).

The history: the module's people (Gunnar, 1 seizure: yellow; Olav, none: green) and two
patients enrolled with the pathway's thresholds who answer 2 seizures (yellow, red with the
draft). So: yellow → red 2, yellow → yellow 1, green → green 1.

The tests run in file order on one browser: each continues where the last left.
"""

from __future__ import annotations

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select

from api.auth import create_token
from runtime.settings import get_settings
from tests.e2e import web_data
from tests.e2e.browser import sign_in
from tests.e2e.pages import GRANTED, keep, no_serious_violations, waiting
from tests.e2e.situations import bundle
from tests.e2e.web_data import Person
from tests.integration.fhir_helpers import bearer

pytestmark = pytest.mark.slow

TWO_SEIZURES = ("Sigrid Sjelden", "Trond Tallak")


def two_seizures(api: httpx.Client, name: str) -> Person:
    """A patient on the pathway's own thresholds who answers 2 seizures: yellow."""
    pathway, test = web_data.pathway_test("epilepsy", "egen grense for pasienten")
    patient_id, fnr = web_data.create_patient(api, *name.split(" ", 1))
    enrolled = api.post(
        f"/api/patients/{patient_id}/enrolments",
        json={"pathway": "epilepsy"},
        headers=bearer("clinician"),
    )
    assert enrolled.status_code in (200, 201), enrolled.text
    sent = api.post(
        "/fhir", json=bundle(pathway, test, patient_id), headers=bearer("patient", patient_id)
    )
    assert sent.status_code == 200, sent.text
    return Person(name, patient_id, "epilepsy", "yellow", fnr)


@pytest.fixture(scope="module")
def history(api: httpx.Client, people: dict[str, Person]) -> list[Person]:
    answered = [two_seizures(api, name) for name in TWO_SEIZURES]
    web_data.wait_for(api, answered)
    return answered


@pytest.fixture(scope="module", autouse=True)
def _signed_in(driver: webdriver.Chrome, base_url: str, history: list[Person]) -> None:
    author = create_token(get_settings(), role="author", subject="author:e2e", pathways=GRANTED)
    sign_in(driver, base_url, author)


def matrix(driver: webdriver.Chrome) -> list[list[str]]:
    """The matrix's counts, row by row (stored red, yellow, green; draft the same)."""
    rows: list[list[str]] = driver.execute_script(
        "return [...document.querySelectorAll('#matrix tbody tr')]"
        ".map((r) => [...r.querySelectorAll('td.cell .n')].map((c) => c.textContent.trim()));"
    )
    return rows


def test_an_author_tries_a_lower_threshold_and_sees_the_report(driver: webdriver.Chrome) -> None:
    driver.find_element(By.XPATH, "//nav//a[normalize-space()='Prøv endring']").click()
    waiting(driver, 10).until(lambda d: d.current_url.split("?")[0].endswith("/app/replay"))
    Select(driver.find_element(By.ID, "rp-pathway")).select_by_value("epilepsy")
    driver.find_element(By.XPATH, "//button[normalize-space()='Velg forløp']").click()
    waiting(driver, 10).until(lambda d: "pathway=epilepsy" in d.current_url)
    draft = driver.find_element(By.ID, "rp-text")
    assert "seizures_red: {value: 3," in (draft.get_attribute("value") or "")
    driver.execute_script(
        "arguments[0].value = arguments[0].value"
        ".replace('seizures_red: {value: 3,', 'seizures_red: {value: 2,')"
        ".replace('\\nversion: 1\\n', '\\nversion: 2\\n');",
        draft,
    )
    driver.find_element(By.ID, "rp-P365D").click()
    driver.find_element(By.XPATH, "//button[normalize-space()='Prøv utkastet']").click()
    waiting(driver, 10).until(lambda d: "/app/replay/epilepsy/rj-" in d.current_url)
    # The page asks for the job's status and shows the report when the worker is done.
    waiting(driver, 90).until(lambda d: d.find_elements(By.ID, "matrix"))
    assert matrix(driver) == [["0", "0", "0"], ["2", "1", "0"], ["0", "0", "1"]]
    changed = driver.find_element(By.CSS_SELECTOR, "td[data-stored='yellow'][data-draft='red']")
    assert "Gul → Rød (høyere)" in changed.text and "↑" in changed.text
    canvas = driver.find_element(By.CSS_SELECTOR, "canvas[data-chart='bars']")
    assert waiting(driver, 15).until(
        lambda d: d.execute_script(
            "return !!(window.Chart && Chart.getChart(arguments[0]));", canvas
        )
    )
    bars = driver.find_element(By.ID, "bars").text
    assert "Røde per 100 opplastinger 0,00 50,00" in bars.replace("\n", " ")
    no_serious_violations(driver, "replay report")
    keep("replay", driver)


def test_an_example_case_opens_the_patient_page(
    driver: webdriver.Chrome, history: list[Person]
) -> None:
    report = driver.current_url
    links = driver.find_elements(By.CSS_SELECTOR, "#examples-yellow-red tbody a")
    targets = {link.get_attribute("href").rsplit("/", 1)[1] for link in links}
    assert targets == {p.patient_id for p in history}
    links[0].click()
    waiting(driver, 10).until(lambda d: "/app/patients/" in d.current_url)
    assert any(p.name.split()[0] in driver.find_element(By.TAG_NAME, "h1").text for p in history)
    driver.get(report)


def test_english_by_the_language_link_keeps_the_report(driver: webdriver.Chrome) -> None:
    driver.find_element(By.LINK_TEXT, "English").click()
    waiting(driver, 10).until(lambda d: "Publish as shadow" in d.page_source)
    assert matrix(driver) == [["0", "0", "0"], ["2", "1", "0"], ["0", "0", "1"]]
    assert "Yellow → Red (higher)" in driver.find_element(By.ID, "matrix").text
    no_serious_violations(driver, "replay report in English")
