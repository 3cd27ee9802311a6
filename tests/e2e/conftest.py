"""Fixtures of the browser tests (test_browser_*.py), each made once per test module: a real
uvicorn server and a real Celery worker on the embedded default, a client of its API, the
patients put in over FHIR, and a headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from selenium import webdriver

from tests.conftest import Service, live_server
from tests.e2e import web_data
from tests.e2e.browser import chromium, missing_tools
from tests.e2e.web_data import Person


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
