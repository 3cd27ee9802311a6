"""What the browser tests (test_browser_*.py) read off the clinicians' pages, and how they
wait for them: the worklist's rows in order and their levels, axe-core's verdict, kept
screenshots, and the clinician's token."""

from __future__ import annotations

import os
import shutil

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

from api.auth import create_token
from runtime.settings import get_settings
from tests.conftest import ROOT
from tests.e2e.browser import axe_violations, screenshot, serious

GRANTED = ["diabetes-cgm", "epilepsy", "heart-failure"]
DOCS = ROOT / "docs" / "screenshots"
ROWS = "table tbody tr"


def waiting(driver: webdriver.Chrome, seconds: float, poll_frequency: float = 0.5) -> WebDriverWait:
    """A wait that reads through the page being replaced under it (a form post reloads it,
    and the 10 s refresh swaps the table body): a stale row is read again, not a failure."""
    return WebDriverWait(
        driver,
        seconds,
        poll_frequency=poll_frequency,
        ignored_exceptions=(StaleElementReferenceException,),
    )


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
