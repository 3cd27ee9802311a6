"""How fresh the figures are (docs/statistics.md): a call sums counts made at most
``STATS_MAX_AGE_SECONDS`` ago and says when (``at``); the scheduler's refresh and a newly
published version make the next call count again; on both databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from store.db import session_scope
from tests.conftest import Service, _activate, _restore
from tests.integration.api_rows import add_patient, unique
from tests.integration.stats_rows import SCHEDULED, enrol, publish_scheduled, upload
from usecases.publishing import publish
from usecases.statistics.refresh import refresh_all


@pytest.fixture
def an_hour(service: Service) -> Iterator[None]:
    """Counts stay good for an hour (the tests' default is 0: counted afresh each call)."""
    previous = _activate({"STATS_MAX_AGE_SECONDS": "3600"})
    yield
    _restore(previous)


def figures(client: TestClient, pathway: str) -> dict[str, object]:
    from tests.integration.api_rows import headers

    query = {"pathway": pathway, "from": "2026-01-01", "to": "2026-02-28", "by": "month"}
    response = client.get("/api/stats", params=query, headers=headers(pathways=[pathway]))
    assert response.status_code == 200, response.text
    body = response.json()
    months = body["pathways"][0]["buckets"]
    return {"at": body["at"], "results": [m["events"]["results"] for m in months]}


def test_a_call_sums_counts_up_to_the_max_age_and_says_when_they_were_made(
    client: TestClient, an_hour: None
) -> None:
    p = unique("fresh")
    url = publish_scheduled(p)
    patient = add_patient()
    enrol(patient, p, dt.datetime(2025, 12, 1, tzinfo=dt.UTC), own=False)
    kind = "QuestionnaireResponse"
    upload(patient, p, kind, dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC), "green", url=url)
    first = figures(client, p)
    assert first["results"] == [
        {"red": 0, "yellow": 0, "green": 1},
        {"red": 0, "yellow": 0, "green": 0},
    ]
    counted = dt.datetime.fromisoformat(str(first["at"]))
    assert dt.datetime.now(dt.UTC) - counted < dt.timedelta(minutes=1)

    # A red answer in February: the counts of a moment ago are still good, and say so.
    upload(patient, p, kind, dt.datetime(2026, 2, 3, 12, tzinfo=dt.UTC), "red", url=url)
    assert figures(client, p) == first

    # The scheduler's refresh counts again: the red is there, counted later.
    assert refresh_all(dt.datetime.now(dt.UTC), dt.timedelta(0)) >= 1
    second = figures(client, p)
    assert second["results"][1] == {"red": 1, "yellow": 0, "green": 0}
    assert str(second["at"]) > str(first["at"])

    # A new version of the pathway: the next call counts again at once.
    upload(patient, p, kind, dt.datetime(2026, 2, 20, 12, tzinfo=dt.UTC), "green", url=url)
    assert figures(client, p) == second
    with session_scope() as session:
        published = publish(
            session, SCHEDULED.format(id=p).replace("version: 1", "version: 2"), "t"
        )
        assert published.created
    third = figures(client, p)
    assert third["results"][1] == {"red": 1, "yellow": 0, "green": 1}
    assert str(third["at"]) > str(second["at"])
