"""The page "Prøv endring" (/app/replay) as HTML, on the embedded default and on PostgreSQL +
Redis: authors only (a clinician is refused as on the API, and has no link to it); the form
starts from the version in force; a broken draft comes back with its FILE:LINE:COL problems
beside the text (422, no job stored); a draft pasted or uploaded as a file becomes a job
whose page shows its status, then the report's matrix, bars and example cases linked to the
patient page. Publishing and promoting from the page are in test_web_pages_replay_publish.py.

The history (January 2025): three epilepsy patients answer 2 seizures (yellow with
``seizures_red`` 3) then 0 (green); the draft lowers ``seizures_red`` to 2, so 3 uploads go
yellow → red and 3 stay green."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import func, select

from runtime.settings import get_settings
from store.db import session_scope
from store.trials import ReplayJob
from tests.integration import replay_helpers as h
from tests.integration.test_web_pages_results import Tables
from tests.integration.web_helpers import token, visible_text
from usecases.replay import jobs

OSLO = dt.timezone(dt.timedelta(hours=1))
NO_FILE = ("", b"", "application/octet-stream")  # a file field left empty, as a browser sends it


def sign_in(client: TestClient, role: str = "author") -> None:
    answer = client.post(
        "/app/login",
        data={"token": token(["*"], role=role, subject=f"{role}:page")},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text


def epilepsy(red: int = 2, version: int | None = None) -> str:
    text = (Path(get_settings().rules_dir) / "epilepsy.yaml").read_text(encoding="utf-8")
    text = text.replace("seizures_red: {value: 3,", f"seizures_red: {{value: {red},")
    return h.next_version(text, version)


def submit(client: TestClient, pathway: str, text: str, **extra: Any) -> Any:
    files = {"file": extra.pop("file", NO_FILE)}
    fields = {"pathway": pathway, "source": "draft", "text": text, **extra}
    fields.setdefault("period", "dates")
    fields.setdefault("from", "2025-01-01")
    fields.setdefault("to", "2025-01-31")
    return client.post("/app/replay", data=fields, files=files, follow_redirects=False)


def jobs_stored() -> int:
    with session_scope() as session:
        return int(session.exec(select(func.count()).select_from(ReplayJob)).one())


def history(client: TestClient, month: int = 1) -> None:
    for day in (3, 6, 9):
        pid, _ = h.new_patient(client, "epilepsy")
        h.seizures(client, pid, 2, dt.datetime(2025, month, day, 9, tzinfo=OSLO))
        h.seizures(client, pid, 0, dt.datetime(2025, month, day + 1, 9, tzinfo=OSLO))


def test_a_clinician_without_the_author_role_is_refused_and_has_no_link(
    client: TestClient,
) -> None:
    sign_in(client, "clinician")
    assert "/app/replay" not in client.get("/app").text
    for url in ("/app/replay", "/app/replay/epilepsy/shadow", "/app/replay/epilepsy/rj-x"):
        answer = client.get(url)
        assert answer.status_code == 403, url
        assert "Bare forfattere av forløp kan prøve endringer." in visible_text(answer.text)
    before = jobs_stored()
    assert submit(client, "epilepsy", epilepsy()).status_code == 403
    assert client.post("/app/replay/epilepsy/promote").status_code == 403
    assert jobs_stored() == before


def test_the_form_starts_from_the_version_in_force(client: TestClient) -> None:
    sign_in(client)
    assert 'href="/app/replay"' in client.get("/app").text  # in the navigation
    assert 'href="/app/replay?pathway=epilepsy"' in client.get("/app/pathways").text
    page = client.get("/app/replay?pathway=epilepsy")
    assert page.status_code == 200
    in_force = (Path(get_settings().rules_dir) / "epilepsy.yaml").read_text(encoding="utf-8")
    assert "seizures_red: {value: 3," in page.text
    assert in_force.splitlines()[0] in page.text
    assert 'value="shadow"' not in page.text  # no shadow version to pick
    english = client.get("/app/replay?pathway=epilepsy&lang=en")
    assert "Try the draft" in english.text and "lang=nb" in english.text
    assert "pathway=epilepsy&amp;lang=nb" in english.text  # the language link keeps it


def test_a_broken_draft_comes_back_with_its_line_and_nothing_is_stored(
    client: TestClient,
) -> None:
    sign_in(client)
    before = jobs_stored()
    broken = epilepsy().replace("seizures >= seizures_red", "seizures >= nothing")
    answer = submit(client, "epilepsy", broken)
    assert answer.status_code == 422, answer.text
    text = visible_text(answer.text)
    assert "Utkastet ble ikke prøvd" in text
    line = next(i for i, s in enumerate(broken.splitlines(), 1) if "seizures >= nothing" in s)
    assert f"epilepsy.yaml:{line}:" in text, text
    assert "seizures &gt;= nothing" in answer.text  # the draft stays in the text area
    assert 'aria-invalid="true"' in answer.text
    assert jobs_stored() == before


def test_a_pasted_draft_runs_as_a_job_and_its_report_is_shown(client: TestClient) -> None:
    history(client, month=1)
    sign_in(client)
    answer = submit(client, "epilepsy", epilepsy())
    assert answer.status_code == 303, answer.text
    url = answer.headers["location"]
    assert url.startswith("/app/replay/epilepsy/rj-")
    job_id = url.rsplit("/", 1)[1]

    waiting = client.get(url)
    assert waiting.status_code == 200
    assert "I kø" in waiting.text and f'href="{url}"' in waiting.text  # the no-JS refresh
    status = client.get(f"{url}/status.json").json()
    assert status == {"status": "queued", "done": 0, "total": 0}

    assert jobs.run(job_id) == "done"  # the worker's task, run inline
    assert client.get(f"{url}/status.json").json() == {"status": "done", "done": 6, "total": 6}
    page = client.get(url)
    tables = Tables(page.text).tables
    matrix = [row[1:4] for row in tables["matrix"][1:]]
    counts = [[cell.split(" ", 1)[0] for cell in row] for row in matrix]
    assert counts == [["0", "0", "0"], ["3", "0", "0"], ["0", "0", "3"]]
    assert "Gul → Rød (høyere)" in matrix[1][0]  # words beside the colour
    bars = {row[0]: row[1:] for row in tables["bars"][1:]}
    assert bars["Røde per 100 opplastinger"] == ["0,00", "50,00"]
    assert bars["Gule per 100 opplastinger"] == ["50,00", "0,00"]
    examples = tables["examples-yellow-red"][1:]
    assert len(examples) == 3
    assert len(tables["new-red"][1:]) == 3
    patients = {r[0] for r in examples}
    assert all("*****" in p for p in patients)  # masked national ids
    with session_scope() as session:
        job = session.get(ReplayJob, job_id)
        assert job is not None and job.report is not None
        linked = {e["patient"] for e in job.report["examples"]["yellow->red"]}
    for patient in linked:
        assert f'href="/app/patients/{patient}"' in page.text
        assert client.get(f"/app/patients/{patient}").status_code == 200
    assert "Publiser som skygge" in page.text and "Publiser som aktiv" in page.text


def test_an_uploaded_file_is_used_instead_of_the_text(client: TestClient) -> None:
    sign_in(client)
    upload = ("epilepsy.yaml", epilepsy(red=5).encode(), "text/yaml")
    answer = submit(client, "epilepsy", "not: a pathway", file=upload)
    assert answer.status_code == 303, answer.text
    with session_scope() as session:
        job = session.get(ReplayJob, answer.headers["location"].rsplit("/", 1)[1])
        assert job is not None and "seizures_red: {value: 5," in job.text
    latin1 = ("epilepsy.yaml", "tittel: Anfallsdagbok æøå".encode("latin-1"), "text/yaml")
    refused = submit(client, "epilepsy", epilepsy(), file=latin1)
    assert refused.status_code == 422
    assert "not UTF-8" in refused.text
