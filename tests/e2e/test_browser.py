"""The clinicians' pages in a real headless Chromium (Debian's chromium and chromium-driver,
``make browser``) against a real uvicorn server and a real Celery worker, with data put in
over the FHIR API: sign in, red first, the patient and the chart, acknowledge, resolve,
override, a new red item without a reload, a refused pathway; axe-core finds no serious or
critical violation; screenshots go to test-artifacts/ (also docs/screenshots/ with
UPDATE_SCREENSHOTS=1).

The tests run in file order on one signed-in browser: each continues where the last left.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import time
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from api.auth import create_token
from runtime.settings import get_settings
from tests.conftest import ROOT, Service, live_server
from tests.e2e import web_data
from tests.e2e.browser import (
    axe_violations,
    chromium,
    missing_tools,
    screenshot,
    serious,
    sign_in,
)
from tests.e2e.web_data import Person


def waiting(driver: webdriver.Chrome, seconds: float, poll_frequency: float = 0.5) -> WebDriverWait:
    """A wait that reads through the page being replaced under it (a form post reloads it,
    and the 10 s refresh swaps the table body): a stale row is read again, not a failure."""
    return WebDriverWait(
        driver,
        seconds,
        poll_frequency=poll_frequency,
        ignored_exceptions=(StaleElementReferenceException,),
    )


pytestmark = pytest.mark.slow
GRANTED = ["diabetes-cgm", "epilepsy", "heart-failure"]
DOCS = ROOT / "docs" / "screenshots"
ROWS = "table tbody tr"
TABLET = (768, 1024)
OSLO = ZoneInfo("Europe/Oslo")


@pytest.fixture(scope="module")
def base_url(embedded_service: Service, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if missing := missing_tools():
        pytest.fail("the browser tests need: " + "; ".join(missing))
    embedded_service.start_worker(tmp_path_factory.mktemp("browser-worker"))
    with live_server() as url:
        yield url
    embedded_service.stop_workers()


@pytest.fixture(scope="module")
def api(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def people(api: httpx.Client) -> dict[str, Person]:
    """Green and yellow posted before red, so that red first is the page's doing."""
    post = web_data.post_situation
    people = {
        "green": post(api, "Grete Grønnsen", "heart-failure", "stabil"),
        "yellow": post(api, "Gunnar Gulbrand", "epilepsy", "ett anfall"),
        "quiet": post(api, "Olav Overstyr", "epilepsy", "rolig periode"),
        "red": post(api, "Rita Rødberg", "heart-failure", "væske på tre dager"),
        "copd": post(api, "Kåre Kolsen", "copd", "lav metning"),
    }
    web_data.wait_for(api, list(people.values()))
    return people


@pytest.fixture(scope="module")
def driver(base_url: str, people: dict[str, Person]) -> Iterator[webdriver.Chrome]:
    with chromium() as browser:
        yield browser


def token(pathways: list[str]) -> str:
    return create_token(
        get_settings(), role="clinician", subject="clinician:e2e", pathways=pathways
    )


def rows(driver: webdriver.Chrome) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, ROWS)


def row_of(driver: webdriver.Chrome, name: str) -> WebElement:
    found = [row for row in rows(driver) if name in row.text]
    assert len(found) == 1, f"{name!r} in {len(found)} rows: {[r.text for r in rows(driver)]}"
    return found[0]


def names_in_order(driver: webdriver.Chrome) -> list[str]:
    """The test patients' first names, row by row (read at once: rows are replaced live)."""
    texts = driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map((r) => r.innerText);", ROWS
    )
    wanted = ("Anders", "Grete", "Gunnar", "Olav", "Rita", "Kåre")
    return [w for text in texts for w in wanted if w in text]


def level_of(driver: webdriver.Chrome, name: str) -> str | None:
    """The level a patient's row shows now (read at once: rows are replaced live)."""
    level: str | None = driver.execute_script(
        """
        const row = [...document.querySelectorAll(arguments[0])]
          .find((r) => r.innerText.includes(arguments[1]));
        return row ? row.dataset.level : null;
        """,
        ROWS,
        name,
    )
    return level


def no_serious_violations(driver: webdriver.Chrome, page: str) -> None:
    found = serious(axe_violations(driver))
    assert not found, f"axe-core on the {page}:\n{found}"


def keep(path_name: str, driver: webdriver.Chrome) -> None:
    """A screenshot kept as a test artifact; copied for the README when asked for
    (UPDATE_SCREENSHOTS=1), so an ordinary run changes no tracked file."""
    shot = screenshot(driver, path_name)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOCS / f"{path_name}.png")


def test_sign_in_with_the_token_shows_red_first(
    driver: webdriver.Chrome, base_url: str, people: dict[str, Person]
) -> None:
    driver.get(f"{base_url}/app")
    assert driver.current_url.endswith("/app/login"), "not signed in, yet not sent to sign in"
    sign_in(driver, base_url, token(GRANTED))
    assert driver.current_url.rstrip("/").endswith("/app")
    first = rows(driver)[0]
    assert "Rita Rødberg" in first.text
    # The level in words and a shape, not by colour alone.
    assert first.find_element(By.CSS_SELECTOR, ".level").text == "■ Rød"
    assert names_in_order(driver)[:2] == ["Rita", "Gunnar"]
    assert sorted(names_in_order(driver)[2:]) == ["Grete", "Olav"]  # both green
    levels = [row.get_attribute("data-level") for row in rows(driver)]
    assert levels == ["red", "yellow", "green", "green"]
    assert "Kåre" not in driver.page_source  # copd is not granted
    assert people["red"].fnr not in driver.page_source  # the national id is masked
    assert people["red"].fnr[:6] in first.text
    no_serious_violations(driver, "worklist")
    screenshot(driver, "worklist-first")


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


def open_actions(row: WebElement) -> WebElement:
    """Open the row's folded actions (a <details>), as a person would; return it."""
    details = row.find_element(By.TAG_NAME, "details")
    if details.get_attribute("open") is None:
        details.find_element(By.TAG_NAME, "summary").click()
    # The controls are put in when the row opens.
    waiting(row.parent, 5).until(lambda _: details.find_elements(By.TAG_NAME, "input"))
    return details


def test_acknowledge_and_resolve_take_the_item_off_the_open_list(
    driver: webdriver.Chrome, base_url: str
) -> None:
    driver.get(f"{base_url}/app")
    row = row_of(driver, "Gunnar Gulbrand")
    row.find_element(By.XPATH, ".//button[normalize-space()='Kvitter']").click()
    waiting(driver, 10).until(lambda d: "Gunnar" not in names_in_order(d))
    assert sorted(names_in_order(driver)) == ["Grete", "Olav", "Rita"]
    driver.get(f"{base_url}/app?status=acknowledged")
    actions = open_actions(row_of(driver, "Gunnar Gulbrand"))
    actions.find_element(By.CSS_SELECTOR, "input[name^='note-']").send_keys("Ringt, alt i orden.")
    actions.find_element(By.XPATH, ".//button[normalize-space()='Avslutt']").click()
    waiting(driver, 10).until(lambda d: "Gunnar" not in names_in_order(d))
    driver.get(f"{base_url}/app?status=resolved")
    assert names_in_order(driver) == ["Gunnar"]
    driver.get(f"{base_url}/app")
    assert "Gunnar" not in names_in_order(driver)


def test_override_a_level_with_a_reason_and_take_it_back(
    driver: webdriver.Chrome, base_url: str
) -> None:
    driver.get(f"{base_url}/app")
    assert level_of(driver, "Olav Overstyr") == "green"
    actions = open_actions(row_of(driver, "Olav Overstyr"))
    Select(actions.find_element(By.CSS_SELECTOR, "select[name^='level-']")).select_by_value("red")
    actions.find_element(By.CSS_SELECTOR, "input[name^='reason-']").send_keys(
        "Pårørende ringte, bekymret."
    )
    actions.find_element(By.XPATH, ".//button[contains(@formaction, '/override')]").click()
    waiting(driver, 10).until(lambda d: level_of(d, "Olav Overstyr") == "red")
    row = row_of(driver, "Olav Overstyr")
    assert "■ Rød" in row.find_element(By.CSS_SELECTOR, ".level").text
    assert "Grønn" in row.text  # the engine's level is still shown
    assert set(names_in_order(driver)[:2]) == {"Rita", "Olav"}, "both red, before the rest"
    # Taken back: the engine's green rules again, and no second level is shown.
    actions = open_actions(row_of(driver, "Olav Overstyr"))
    actions.find_element(By.XPATH, ".//button[contains(@formaction, '/clear-override')]").click()
    waiting(driver, 10).until(lambda d: level_of(d, "Olav Overstyr") == "green")
    row = row_of(driver, "Olav Overstyr")
    assert "● Grønn" in row.find_element(By.CSS_SELECTOR, ".level").text
    assert "Motorens nivå" not in row.text


def test_a_new_red_item_appears_without_a_reload(
    driver: webdriver.Chrome, base_url: str, api: httpx.Client
) -> None:
    driver.get(f"{base_url}/app")
    driver.execute_script("window.__notReloaded = true;")
    stamp = driver.find_element(By.ID, "updated").text
    posted = time.monotonic()
    anders = web_data.post_situation(api, "Anders Anfallsen", "epilepsy", "mange anfall")
    # The worker's part first (its own deadline), then the page's: within two of its 10 s
    # polls of the item being there, and without a reload.
    web_data.wait_for(api, [anders])
    started = time.monotonic()
    waiting(driver, 25, poll_frequency=0.5).until(lambda d: "Anders" in names_in_order(d))
    print(
        f"triaged {started - posted:.1f} s after the post; "
        f"the page showed it {time.monotonic() - started:.1f} s later"
    )
    assert driver.execute_script("return window.__notReloaded === true;"), "the page reloaded"
    assert "Rød" in row_of(driver, "Anders Anfallsen").text
    assert driver.find_element(By.ID, "updated").text != stamp, "the page says when it updated"


def test_a_pathway_not_granted_is_refused(
    driver: webdriver.Chrome, base_url: str, people: dict[str, Person]
) -> None:
    driver.get(f"{base_url}/app?pathway=copd")
    assert "Ikke tillatt" in driver.find_element(By.TAG_NAME, "h1").text
    assert "Kåre Kolsen" not in driver.page_source
    driver.get(f"{base_url}/app/patients/{people['copd'].patient_id}")
    assert "Kåre Kolsen" not in driver.page_source
    assert driver.find_element(By.TAG_NAME, "h1").text in ("Ikke tillatt", "Finnes ikke")
    driver.get(f"{base_url}/app")
    assert "copd" not in [a.text for a in driver.find_elements(By.CSS_SELECTOR, "nav a")]


def test_a_held_red_row_shows_its_newest_green_beside_it(
    driver: webdriver.Chrome, base_url: str, api: httpx.Client
) -> None:
    """Red answers from yesterday, green ones today: the row holds red (a level never falls
    by itself) and shows the newest green beside it, in a word and a shape, with its time."""
    now = dt.datetime.now(dt.UTC)
    post = web_data.post_situation
    red = post(
        api, "Helge Holdt", "epilepsy", "mange anfall", authored=now - dt.timedelta(hours=26)
    )
    web_data.wait_for(api, [red])
    green = post(
        api, red.name, "epilepsy", "rolig periode", red.patient_id, now - dt.timedelta(minutes=5)
    )
    item = web_data.wait_for_newest(api, green, held="red")
    driver.get(f"{base_url}/app")
    row = row_of(driver, "Helge Holdt")
    assert row.find_element(By.CSS_SELECTOR, ".level").text == "■ Rød"
    newest = row.find_element(By.CSS_SELECTOR, ".newest")
    assert newest.is_displayed()
    when = dt.datetime.fromisoformat(item["newest"]["at"]).astimezone(OSLO)
    assert newest.text == f"nyeste: ● grønn {when:%d.%m %H:%M}", newest.text
    # The red reasons keep the time of yesterday's data.
    monday = dt.datetime.fromisoformat(item["reasons"][0]["at"]).astimezone(OSLO)
    times = [t.text for t in row.find_elements(By.CSS_SELECTOR, ".reasons time")]
    assert f"{monday:%d.%m %H:%M}" in times and monday < when - dt.timedelta(hours=20), times
    no_serious_violations(driver, "worklist with a held level")
    keep("worklist", driver)


def press(driver: webdriver.Chrome, *keys: str) -> None:
    """Keys sent to whatever has the focus, as a keyboard would."""
    ActionChains(driver).send_keys(*keys).perform()


def tab_to(driver: webdriver.Chrome, found: str, most: int = 150) -> WebElement:
    """Press TAB until the focused element matches the script ``found`` (given ``el``)."""
    for _ in range(most):
        press(driver, Keys.TAB)
        element: WebElement = driver.switch_to.active_element
        if driver.execute_script(f"const el = arguments[0]; return {found};", element):
            return element
    raise AssertionError(f"{found} never took the focus in {most} TABs")


def test_sign_in_and_acknowledge_with_the_keyboard_alone(base_url: str) -> None:
    with chromium() as browser:
        browser.get(f"{base_url}/app/login")
        tab_to(browser, "el.name === 'token'")
        press(browser, token(GRANTED), Keys.ENTER)
        waiting(browser, 15).until(lambda d: "/app/login" not in d.current_url)
        grete = "el.closest('tr') && el.closest('tr').innerText.includes('Grete Grønnsen')"
        button = tab_to(
            browser, f"el.tagName === 'BUTTON' && {grete} && el.innerText === 'Kvitter'"
        )
        style = browser.execute_script(
            "const s = getComputedStyle(arguments[0]); return [s.outlineStyle, s.outlineWidth];",
            button,
        )
        assert style[0] != "none" and style[1] != "0px", f"no visible focus: {style}"
        press(browser, Keys.ENTER)
        waiting(browser, 10).until(lambda d: "Grete" not in names_in_order(d))
        browser.get(f"{base_url}/app?status=acknowledged")
        assert "Grete" in names_in_order(browser)


def test_the_worklist_fits_a_tablet(base_url: str) -> None:
    with chromium(TABLET) as browser:
        sign_in(browser, base_url, token(GRANTED))
        browser.get(f"{base_url}/app")
        width = browser.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth];"
        )
        assert width[0] <= width[1], f"a horizontal scrollbar: {width}"
        inner = browser.execute_script(
            "const w = document.querySelector('.table-wrap');return [w.scrollWidth, w.clientWidth];"
        )
        assert inner[0] <= inner[1], f"the list scrolls sideways inside the page: {inner}"
        first = rows(browser)[0]
        for part in (".level", "th[scope='row'] a", ".reasons"):
            element = first.find_element(By.CSS_SELECTOR, part)
            box = browser.execute_script(
                "const r = arguments[0].getBoundingClientRect();return [r.left, r.right, r.width];",
                element,
            )
            assert element.is_displayed() and box[2] > 0, f"{part} not shown"
            assert box[0] >= 0 and box[1] <= width[1], f"{part} outside the screen: {box}"
        screenshot(browser, "worklist-tablet")
