"""The clinicians' worklist in a real headless Chromium (Debian's chromium and
chromium-driver, ``make browser``) against a real uvicorn server and a real Celery worker,
with data put in over the FHIR API: sign in, red first, acknowledge, resolve, override, a
new red item without a reload, a refused pathway, a held red beside its newest green, and
resolving with the contact that actually happened; axe-core finds no serious or critical
violation; screenshots go to test-artifacts/ (also docs/screenshots/ with
UPDATE_SCREENSHOTS=1).

The tests run in file order on one signed-in browser: each continues where the last left.
"""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.select import Select

from tests.e2e import web_data
from tests.e2e.browser import screenshot, sign_in
from tests.e2e.pages import (
    GRANTED,
    keep,
    level_of,
    names_in_order,
    no_serious_violations,
    row_of,
    rows,
    token,
    waiting,
)
from tests.e2e.web_data import Person
from tests.integration.fhir_helpers import bearer

pytestmark = pytest.mark.slow
OSLO = ZoneInfo("Europe/Oslo")


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


def test_resolve_with_the_contact_chosen_on_the_page(
    driver: webdriver.Chrome, base_url: str, api: httpx.Client
) -> None:
    """The pathway's recommended contact is preselected; the clinician records the contact
    that actually happened instead, and the resolved list and the API show it."""
    item = next(
        i for i in web_data.open_items(api).values() if i["patient"]["name"] == "Helge Holdt"
    )
    recommended = item["action"]["consultation"]
    assert recommended in ("none", "digital", "phone", "physical"), item["action"]
    driver.get(f"{base_url}/app")
    actions = open_actions(row_of(driver, "Helge Holdt"))
    field = actions.find_element(By.CSS_SELECTOR, "select[name^='contact-']")
    label = actions.find_element(By.CSS_SELECTOR, f"label[for='{field.get_attribute('id')}']")
    assert label.text == "Kontakt som ble gjennomført"
    contact = Select(field)
    assert contact.first_selected_option.get_attribute("value") == recommended
    assert [o.text for o in contact.options] == [
        "Ikke registrert",
        "Ingen kontakt",
        "Digital (melding)",
        "Telefon",
        "Video",
        "Oppmøte",
    ]
    no_serious_violations(driver, "worklist with a row's actions open")
    contact.select_by_visible_text("Video")
    actions.find_element(By.CSS_SELECTOR, "input[name^='note-']").send_keys("Videotime holdt.")
    actions.find_element(By.XPATH, ".//button[normalize-space()='Avslutt']").click()
    waiting(driver, 10).until(lambda d: "Helge" not in d.find_element(By.ID, "worklist").text)
    driver.get(f"{base_url}/app?status=resolved")
    row = row_of(driver, "Helge Holdt")
    assert "Gjennomført: Video" in row.find_element(By.CSS_SELECTOR, ".contact-recorded").text
    resolved = api.get(
        "/api/worklist", params={"status": "resolved"}, headers=bearer("clinician")
    ).json()["items"]
    [done] = [i for i in resolved if i["id"] == item["id"]]
    assert (done["contact"], done["note"]) == ("video", "Videotime holdt.")
