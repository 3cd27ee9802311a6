"""Shared by the browser tests and bench/web.py: Debian's headless Chromium driven through
chromedriver by Selenium, a real uvicorn server in a thread, axe-core and screenshots."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service as DriverService
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
LAPTOP = (1366, 900)


def missing_tools() -> list[str]:
    """What the browser tests need and this machine lacks, each with how to get it."""
    missing = [
        f"{path} (make browser: apt-get install chromium chromium-driver)"
        for path in (CHROMIUM, CHROMEDRIVER)
        if not path.exists()
    ]
    if not AXE.exists():
        missing.append(f"{AXE.relative_to(ROOT)} (make assets: npm ci)")
    return missing


@contextmanager
def chromium(size: tuple[int, int] = LAPTOP) -> Iterator[webdriver.Chrome]:
    """A headless Chromium with a fresh profile, removed afterwards."""
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}"):
        options.add_argument(flag)
    options.add_argument("--lang=nb-NO")
    # The console, for tests that check the pages break no Content-Security-Policy rule.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # No Selenium Manager: the Debian driver is given, so nothing is looked up or downloaded.
    os.environ.setdefault("SE_AVOID_STATS", "true")
    driver = webdriver.Chrome(options=options, service=DriverService(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def axe_violations(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    """axe-core's violations on the current page (WCAG 2.0/2.1 A and AA, best practice)."""
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    outcome: dict[str, Any] = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        axe.run(document, {resultTypes: ["violations"]})
          .then((r) => done({violations: r.violations}))
          .catch((e) => done({error: String(e)}));
        """
    )
    assert "error" not in outcome, f"axe-core failed: {outcome.get('error')}"
    violations: list[dict[str, Any]] = outcome["violations"]
    return violations


def serious(violations: list[dict[str, Any]]) -> str:
    """The serious and critical violations, one line per element ('' when none)."""
    lines = []
    for v in violations:
        if v.get("impact") in ("serious", "critical"):
            for node in v["nodes"]:
                lines.append(
                    f"{v['impact']} {v['id']}: {v['help']} at {node['target']}: "
                    f"{node.get('failureSummary', '')}".replace("\n", " ")
                )
    return "\n".join(lines)


def screenshot(driver: webdriver.Chrome, name: str) -> Path:
    """The whole page (up to 3,000 px tall) as test-artifacts/<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    width, height = driver.get_window_size()["width"], driver.get_window_size()["height"]
    full = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(max(int(full) + 100, height), 3000))
    path = ARTIFACTS / f"{name}.png"
    try:
        assert driver.save_screenshot(str(path)), f"no screenshot saved to {path}"
    finally:
        driver.set_window_size(width, height)
    return path


def sign_in(driver: webdriver.Chrome, base: str, token: str) -> None:
    """Paste the token into the login form and send it, as a clinician would."""
    driver.get(f"{base}/app/login")
    field = driver.find_element(By.NAME, "token")
    field.send_keys(token)
    field.submit()
    WebDriverWait(driver, 15).until(lambda d: "/app/login" not in d.current_url)
