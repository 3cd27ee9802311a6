"""A patient's page in a real headless Chromium against a real uvicorn server and a real
Celery worker: the charts Chart.js draws, with the thresholds and a sensible time axis;
axe-core finds no serious or critical violation; and neither the worklist nor the patient
page breaks a Content-Security-Policy rule. Screenshots go to test-artifacts/ (also
docs/screenshots/ with UPDATE_SCREENSHOTS=1).

The tests run in file order on one browser, signed in on the worklist before the first:
each continues where the last left.
"""

from __future__ import annotations

import re

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.e2e.browser import sign_in
from tests.e2e.pages import GRANTED, keep, no_serious_violations, row_of, rows, token, waiting
from tests.e2e.web_data import Person

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def _signed_in(driver: webdriver.Chrome, base_url: str) -> None:
    """On the worklist, signed in: the patient's page is opened from the patient's row."""
    sign_in(driver, base_url, token(GRANTED))


def test_the_patient_page_shows_the_weight_chart(
    driver: webdriver.Chrome, base_url: str, people: dict[str, Person]
) -> None:
    row_of(driver, "Rita Rødberg").find_element(By.PARTIAL_LINK_TEXT, "Rita Rødberg").click()
    waiting(driver, 10).until(lambda d: people["red"].patient_id in d.current_url)
    assert "Rita Rødberg" in driver.find_element(By.TAG_NAME, "h1").text
    drawn = waiting(driver, 10).until(
        lambda d: d.execute_script(
            """
            const charts = [...document.querySelectorAll("canvas")]
              .filter((c) => window.Chart && window.Chart.getChart(c));
            return charts.length ? charts.length : null;
            """
        )
    )
    assert drawn >= 1, "no canvas drawn by Chart.js"
    no_serious_violations(driver, "patient page")
    keep("patient", driver)


CHART_STATE = """
const canvas = document.querySelector(`canvas[data-chart$="-${arguments[0]}"]`);
const chart = window.Chart.getChart(canvas);
const x = chart.scales.x, y = chart.scales.y;
return {
  labels: x.ticks.map((t) => t.label),
  xmin: x.min, xmax: x.max, ymin: y.min, ymax: y.max,
  lines: chart.data.datasets.slice(1).map((d) => d.data.map((p) => p.y)),
};
"""
HOUR_MS = 3600 * 1000


def test_the_charts_draw_the_thresholds_on_a_sensible_time_axis(driver: webdriver.Chrome) -> None:
    """Still on Rita's page: one SpO2 reading of 95 with the line at spo2_low 90 in view,
    ticks with date and time over at least a day; weight's change beside its limits."""
    spo2 = driver.execute_script(CHART_STATE, "spo2")
    assert spo2["lines"] == [[90, 90]], "the spo2_low line is drawn across the chart"
    assert spo2["ymin"] <= 90 <= spo2["ymax"] and spo2["ymin"] <= 95 <= spo2["ymax"]
    assert spo2["xmax"] - spo2["xmin"] >= 24 * HOUR_MS
    assert 3 <= len(spo2["labels"]) <= 10, spo2["labels"]
    assert all(re.fullmatch(r"\d\d\.\d\d \d\d:00", label) for label in spo2["labels"]), spo2
    assert len({label[:5] for label in spo2["labels"]}) <= 2, "one reading spans a day or two"
    for name, value in (("pulse", 110), ("systolic", 90)):
        state = driver.execute_script(CHART_STATE, name)
        assert state["lines"] == [[value, value]] and state["ymin"] <= value <= state["ymax"]
    weight = driver.find_element(By.CSS_SELECTOR, "figure[id$='-weight'] figcaption").text
    assert "Endring siste 3 dager: +2,3 kg (gult fra 1,0, rødt fra 2,0)" in weight
    labels = driver.execute_script(CHART_STATE, "weight")["labels"]
    assert all(re.fullmatch(r"\d\d\.\d\d( \d\d:00)?", label) for label in labels), labels


def csp_violations(driver: webdriver.Chrome) -> list[str]:
    """Console messages since the last call that report a Content-Security-Policy refusal."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if "Content Security Policy" in entry["message"]
    ]


def test_the_pages_break_no_content_security_policy_rule(
    driver: webdriver.Chrome, base_url: str, people: dict[str, Person]
) -> None:
    """The worklist and the patient page under the strict CSP (no inline script or style):
    nothing refused in the console while they load, draw the charts and refresh."""
    csp_violations(driver)  # start from an empty console
    driver.get(f"{base_url}/app")
    waiting(driver, 10).until(lambda d: len(rows(d)) >= 2)
    refreshed = driver.find_element(By.ID, "updated").text
    waiting(driver, 30).until(lambda d: d.find_element(By.ID, "updated").text != refreshed)
    assert csp_violations(driver) == [], "the worklist"
    driver.get(f"{base_url}/app/patients/{people['red'].patient_id}")
    waiting(driver, 10).until(
        lambda d: d.execute_script(
            "return [...document.querySelectorAll('canvas')]"
            ".some((c) => window.Chart && window.Chart.getChart(c));"
        )
    )
    assert csp_violations(driver) == [], "the patient page"
    # The check sees a refusal when there is one: an inline style attribute is refused.
    driver.execute_script(
        "const probe = document.createElement('div');"
        "probe.innerHTML = '<p style=\"color: red\">x</p>';"
        "document.body.appendChild(probe);"
    )
    waiting(driver, 10).until(lambda d: csp_violations(d) or None)
