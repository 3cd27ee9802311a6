"""``POST /api/pathways/{id}/replay`` and ``GET .../replay/{job}`` on both databases: a
draft is refused with its line numbers exactly as ``PUT`` refuses it; a good one is a job
(202, ``Location``) that the worker's task runs; a job stopped halfway and run again gives
the same report as one run straight through; starting and reading are audited."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from runtime.settings import get_settings
from store.db import session_scope
from store.models import AuditEvent
from tests.documented import assert_documented
from tests.integration import replay_helpers as h
from tests.integration.api_rows import headers, pathway_text
from usecases.replay import jobs
from usecases.replay import run as replay_run

ROUTE = "/api/pathways/{pathway_id}/replay"
OSLO = dt.timezone(dt.timedelta(hours=1))
PERIOD = "from=2025-01-01&to=2025-01-31"


def author() -> dict[str, str]:
    return {**headers("author"), "Content-Type": "text/yaml"}


def draft(red: int = 2) -> str:
    text = (Path(get_settings().rules_dir) / "epilepsy.yaml").read_text(encoding="utf-8")
    text = text.replace("seizures_red: {value: 3,", f"seizures_red: {{value: {red},")
    return h.next_version(text)


def post(client: TestClient, text: str, query: str = PERIOD) -> Any:
    return client.post(f"/api/pathways/epilepsy/replay?{query}", content=text, headers=author())


@pytest.mark.parametrize(
    "text",
    [
        draft().replace("seizures >= seizures_red", "seizures >= nothing"),
        draft().replace("rules:\n", "rules: [\n"),
        draft().replace("expect: red\n    expect_rules: [many-seizures]\n", "expect: green\n"),
        pathway_text("other"),
    ],
    ids=["unknown-name", "yaml-syntax", "own-test-fails", "another-pathway"],
)
def test_a_broken_draft_is_refused_with_the_problems_put_gives(
    client: TestClient, text: str
) -> None:
    replayed = post(client, text)
    published = client.put("/api/pathways/epilepsy", content=text, headers=author())
    assert replayed.status_code == published.status_code == 422, replayed.text
    assert replayed.json()["problems"] == published.json()["problems"]
    assert all(p.startswith("epilepsy.yaml:") for p in replayed.json()["problems"])


def test_a_period_that_cannot_be_read_is_422(client: TestClient) -> None:
    for query in ("since=90 days", "from=2025-01-01", "since=P9D&from=2025-01-01&to=2025-01-02"):
        answer = post(client, draft(), query)
        assert answer.status_code == 422, (query, answer.text)
        assert answer.json()["problems"]


def _history(client: TestClient) -> None:
    for red_at in (1, 2, 3):
        pid, _ = h.new_patient(client, "epilepsy")
        h.seizures(client, pid, 2, dt.datetime(2025, 1, red_at * 3, 9, tzinfo=OSLO))
        h.seizures(client, pid, 0, dt.datetime(2025, 1, red_at * 3 + 1, 9, tzinfo=OSLO))


def test_a_replay_job_answers_202_and_its_report_when_the_worker_is_done(
    client: TestClient,
) -> None:
    _history(client)
    answer = post(client, draft())
    assert answer.status_code == 202, answer.text
    assert_documented("POST", ROUTE, answer)
    job = answer.json()
    assert answer.headers["location"] == job["report_url"]
    assert job["report_url"] == f"/api/pathways/epilepsy/replay/{job['id']}"
    assert (job["status"], job["report"]) == ("queued", None)

    assert jobs.run(job["id"]) == "done"  # the worker's task, run inline
    read = client.get(job["report_url"], headers=headers("author"))
    assert read.status_code == 200, read.text
    assert_documented("GET", ROUTE + "/{job_id}", read)
    done = read.json()
    assert done["status"] == "done"
    assert done["progress"] == {"done": 6, "total": 6}
    report = done["report"]
    assert report["uploads"] == 6
    assert report["matrix"]["yellow"]["red"] == 3 and report["matrix"]["green"]["green"] == 3
    assert len(report["new_red_patients"]) == 3
    assert jobs.run(job["id"]) == "already-done"

    with session_scope() as session:
        actions = session.exec(
            select(AuditEvent.action).where(col(AuditEvent.detail)["job"].as_string() == job["id"])
        ).all()
    assert sorted(actions) == ["pathway.replay", "pathway.replay.read"]


class Killed(Exception):
    """Stands for the worker process dying halfway."""


def test_a_job_stopped_halfway_and_run_again_gives_the_same_report(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _history(client)
    monkeypatch.setattr(replay_run, "PATIENTS_PER_PAGE", 1)
    straight = post(client, draft()).json()["id"]
    jobs.run(straight)
    halfway = post(client, draft()).json()["id"]

    def die(page: int) -> None:
        if page == 1:
            raise Killed

    with pytest.raises(Killed):
        jobs.run(halfway, after_page=die)
    stopped = client.get(f"/api/pathways/epilepsy/replay/{halfway}", headers=headers("author"))
    assert stopped.json()["status"] == "failed" and stopped.json()["report"] is None
    assert 0 < stopped.json()["progress"]["done"] < stopped.json()["progress"]["total"]

    assert jobs.run(halfway) == "done"  # the task sent again
    reports = [
        client.get(f"/api/pathways/epilepsy/replay/{j}", headers=headers("author")).json()
        for j in (straight, halfway)
    ]
    assert reports[0]["report"]["uploads"] >= 6
    assert reports[0]["report"] == reports[1]["report"]
    assert reports[1]["progress"]["done"] == reports[1]["progress"]["total"]


def test_an_unknown_job_or_one_of_another_pathway_is_404(client: TestClient) -> None:
    job = post(client, draft()).json()["id"]
    for url in (
        "/api/pathways/epilepsy/replay/rj-none",
        f"/api/pathways/copd/replay/{job}",
    ):
        assert client.get(url, headers=headers("author")).status_code == 404, url
