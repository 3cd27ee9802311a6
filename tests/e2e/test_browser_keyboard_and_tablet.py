"""The worklist with the keyboard alone and on a tablet's screen, each in a headless Chromium
of its own against a real uvicorn server and a real Celery worker: sign in and acknowledge
without a mouse, with a visible focus; no sideways scrolling at 768 px wide. Screenshots go
to test-artifacts/.
"""

from __future__ import annotations

import pytest
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from tests.e2e.browser import chromium, screenshot, sign_in
from tests.e2e.pages import GRANTED, names_in_order, rows, token, waiting
from tests.e2e.web_data import Person

pytestmark = pytest.mark.slow
TABLET = (768, 1024)


@pytest.fixture(scope="module", autouse=True)
def _people_on_the_list(people: dict[str, Person]) -> None:
    """The patients on the worklist (Grete's green item to acknowledge, rows to fit on the
    screen): these tests open browsers of their own and read what is there."""


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
