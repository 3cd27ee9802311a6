"""The page "Resultater" in a real headless Chromium against a real uvicorn server and a real
Celery worker, with a history put in over the API: epilepsy patients whose follow-up began
eleven months ago answer their scheduled form (green, yellow or red) on different months,
and the clinic acknowledges and resolves their items with the contact that happened. The
page is reached from the navigation, shows a pathway chosen in its form, Chart.js draws
every chart, the tables beside them hold the numbers GET /api/stats gives, the language
link gives English, axe-core finds no serious or critical violation and the strict CSP
refuses nothing. The screenshot goes to test-artifacts/results.png (also
docs/screenshots/ with UPDATE_SCREENSHOTS=1).

The tests run in file order on one browser: each continues where the last left.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select

from tests.e2e import web_data
from tests.e2e.browser import sign_in
from tests.e2e.pages import GRANTED, keep, no_serious_violations, token, waiting
from tests.e2e.web_data import Person
from tests.integration.fhir_helpers import bearer

pytestmark = pytest.mark.slow

# (name, the epilepsy test posted, days ago it was answered, the contact it was resolved with)
ANSWERS = (
    ("Eva Epilesen", "rolig periode", 130, "none"),
    ("Frode Fjeldstad", "rolig periode", 100, "none"),
    ("Hanne Hagen", "ett anfall", 75, "phone"),
    ("Ivar Isaksen", "rolig periode", 45, "digital"),
    ("Jorunn Jensen", "mange anfall", 20, "physical"),
    ("Knut Kvam", "rolig periode", 3, "none"),
)
CHARTS = ("green", "contacts", "ack", "load")


@pytest.fixture(scope="module")
def history(api: httpx.Client, people: dict[str, Person]) -> list[Person]:
    """Enrolled eleven months ago (epilepsy asks every six months), each answers once after
    the form fell due; every item is acknowledged and resolved with its contact."""
    now = dt.datetime.now(dt.UTC)
    began = (now - dt.timedelta(days=330)).isoformat()
    answered = []
    for name, situation, days, _ in ANSWERS:
        patient_id, _ = web_data.create_patient(api, *name.split(" ", 1))
        enrolled = api.post(
            f"/api/patients/{patient_id}/enrolments",
            json={"pathway": "epilepsy", "enrolled_at": began},
            headers=bearer("clinician"),
        )
        assert enrolled.status_code in (200, 201), enrolled.text
        authored = now - dt.timedelta(days=days)
        answered.append(
            web_data.post_situation(api, name, "epilepsy", situation, patient_id, authored)
        )
    items = web_data.wait_for(api, answered)
    for person, (_, _, _, contact) in zip(answered, ANSWERS, strict=True):
        item = items[(person.patient_id, "epilepsy")]
        for change, body in (("acknowledge", {}), ("resolve", {"contact": contact})):
            done = api.post(
                f"/api/worklist/{item['id']}/{change}", json=body, headers=bearer("clinician")
            )
            assert done.status_code == 200, done.text
    return answered


@pytest.fixture(scope="module", autouse=True)
def _signed_in(driver: webdriver.Chrome, base_url: str, history: list[Person]) -> None:
    sign_in(driver, base_url, token(GRANTED))


def drawn(driver: webdriver.Chrome) -> list[str]:
    """The charts Chart.js has drawn on the page, by their data-chart names."""
    names: list[str] = driver.execute_script(
        "return [...document.querySelectorAll('canvas[data-chart]')]"
        ".filter((c) => window.Chart && window.Chart.getChart(c))"
        ".map((c) => c.dataset.chart);"
    )
    return names


def table(driver: webdriver.Chrome, table_id: str) -> list[list[str]]:
    """A table's body rows as the cells' texts (read at once)."""
    rows: list[list[str]] = driver.execute_script(
        "return [...document.querySelectorAll(`#${arguments[0]} tbody tr`)]"
        ".map((r) => [...r.cells].map((c) => c.textContent.trim()));",
        table_id,
    )
    return rows


def percent(share: float | None) -> str:
    return "–" if share is None else f"{100 * share:.1f} %".replace(".", ",")


def test_the_results_page_is_in_the_navigation_and_shows_a_chosen_pathway(
    driver: webdriver.Chrome, base_url: str
) -> None:
    driver.find_element(By.XPATH, "//nav//a[normalize-space()='Resultater']").click()
    waiting(driver, 10).until(lambda d: d.current_url.split("?")[0].endswith("/app/results"))
    assert driver.find_element(By.TAG_NAME, "h1").text == "Resultater"
    choices = [
        o.get_attribute("value") for o in Select(driver.find_element(By.ID, "r-pathway")).options
    ]
    assert choices == ["", *GRANTED], "every granted pathway and no other"
    assert Select(driver.find_element(By.ID, "r-by")).first_selected_option.text == "Måned"
    Select(driver.find_element(By.ID, "r-pathway")).select_by_value("epilepsy")
    driver.find_element(By.XPATH, "//button[normalize-space()='Vis resultater']").click()
    waiting(driver, 10).until(lambda d: "pathway=epilepsy" in d.current_url)
    sections = driver.find_elements(By.CSS_SELECTOR, "section.pathway-results")
    assert [s.get_attribute("data-pathway") for s in sections] == ["epilepsy"]


def test_every_chart_is_drawn_with_its_numbers_in_a_table_beside_it(
    driver: webdriver.Chrome, api: httpx.Client
) -> None:
    expected = [f"{chart}-epilepsy" for chart in CHARTS]
    assert waiting(driver, 15).until(lambda d: drawn(d) == expected or None)
    for name in expected:
        canvas = driver.find_element(By.CSS_SELECTOR, f"canvas[data-chart='{name}']")
        assert canvas.is_displayed() and canvas.get_attribute("role") == "img"
        beside = driver.find_element(By.ID, name)
        assert beside.tag_name == "table" and beside.is_displayed()
        assert beside.find_element(By.TAG_NAME, "caption").text
    # The same numbers as GET /api/stats for the page's period.
    period = {
        key: driver.find_element(By.ID, f"r-{key}").get_attribute("value") for key in ("from", "to")
    }
    answer = api.get(
        "/api/stats",
        params={**period, "by": "month", "pathway": "epilepsy"},
        headers=bearer("clinician"),
    )
    assert answer.status_code == 200, answer.text
    buckets: list[dict[str, Any]] = answer.json()["pathways"][0]["buckets"]
    green = table(driver, "green-epilepsy")
    assert len(green) == len(buckets) == 12
    for row, bucket in zip(green, buckets, strict=True):
        s = bucket["scheduled"]
        assert row[1:] == [
            str(s["answered"]),
            str(s["green"]),
            percent(s["green_share"]),
            str(s["avoided_visits"]),
            percent(s["avoided_share"]),
        ], row
    assert sum(int(row[1]) for row in green) >= len(ANSWERS)  # each answered once, scheduled
    assert sum(int(row[4]) for row in green) >= 5  # all but the one seen in person
    contacts = table(driver, "contacts-epilepsy")
    for row, bucket in zip(contacts, buckets, strict=True):
        assert row[1:-1] == [str(n) for n in bucket["contacts"].values()], row
    load = table(driver, "load-epilepsy")
    assert [row[1] for row in load] == [str(b["alert_load"]["opened"]) for b in buckets]
    acks = table(driver, "ack-epilepsy")
    assert [row[1] for row in acks] == [
        str(b["time_to_acknowledge"]["red"]["count"]) for b in buckets
    ]
    no_serious_violations(driver, "results page")
    keep("results", driver)


def test_english_by_the_language_link_and_no_content_security_policy_refusal(
    driver: webdriver.Chrome,
) -> None:
    driver.get_log("browser")  # start from an empty console
    driver.find_element(By.LINK_TEXT, "English").click()
    waiting(driver, 10).until(lambda d: d.find_element(By.TAG_NAME, "h1").text == "Results")
    # The link keeps the pathway and the period chosen.
    assert "pathway=epilepsy" in driver.current_url
    expected = [f"{chart}-epilepsy" for chart in CHARTS]
    assert waiting(driver, 15).until(lambda d: drawn(d) == expected or None)
    assert "Green share" in driver.find_element(By.ID, "green-epilepsy").text
    refused = [
        e["message"] for e in driver.get_log("browser") if "Content Security" in e["message"]
    ]
    assert refused == []
    no_serious_violations(driver, "results page in English")
