"""The README's run command: ``triage run`` from nothing to a worklist with red, yellow and
green items reachable with the printed token, then a clean stop that leaves no child behind.

It runs as a real subprocess (API, Celery worker and beat as its children) on a temporary
SQLite file and filesystem broker, and again on PostgreSQL + Redis: the same code.
"""

from __future__ import annotations

import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REDIS_TEST_URL, _postgres_schema, _redis_flushed
from tests.triage_run import Run

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(params=["embedded", "postgres+redis"])
def run_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {"ENVIRONMENT": "development", "PORT": str(_free_port()), "HOST": "127.0.0.1"}
    env["BROKER_DIR"] = str(tmp_path / "broker")
    if request.param == "embedded":
        env |= {"DATABASE_URL": f"sqlite:///{tmp_path / 'triage.sqlite3'}", "REDIS_URL": ""}
        yield env
        return
    url, drop = _postgres_schema()
    _redis_flushed()
    yield env | {"DATABASE_URL": url, "REDIS_URL": REDIS_TEST_URL}
    drop()


def test_run_ends_with_red_yellow_and_green_and_stops_its_children(
    run_env: dict[str, str], tmp_path: Path
) -> None:
    run = Run(run_env, tmp_path)
    try:
        url_line = run.wait_for("The service runs at ", 420)
        token = run.wait_for("TOKEN=", 5).removeprefix("TOKEN=")
        base = url_line.split()[4]
        assert base == f"http://127.0.0.1:{run_env['PORT']}"
        assert any("curl" in line and "/api/worklist" in line for line in run.lines)

        worklist = httpx.get(
            f"{base}/api/worklist", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert worklist.status_code == 200, worklist.text
        body = worklist.json()
        levels = {item["level"] for item in body["items"]}
        assert levels == {"red", "yellow", "green"}, body["counts"]
        assert all(body["counts"][level] > 0 for level in ("red", "yellow", "green"))
        # The demo's two patients whose questionnaire is overdue are flagged at once.
        overdue = [
            item
            for item in body["items"]
            if any(reason.get("kind") == "overdue" for reason in item["reasons"])
        ]
        assert sorted(item["pathway"] for item in overdue) == ["depression-phq9", "epilepsy"]
        assert all(item["level"] == "yellow" for item in overdue), overdue
        assert any("overdue questionnaire(s) flagged" in line for line in run.lines)
        assert httpx.get(f"{base}/api/worklist", timeout=10).status_code == 401
        children = _descendants(run.proc.pid)
        assert len(children) >= 3, "the API, a worker and the scheduler run as children"
    finally:
        run.proc.send_signal(signal.SIGTERM)
        try:
            code = run.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            run.proc.kill()
            run.proc.wait()
            raise
        finally:
            run.close()
    assert code == 0, "\n".join(run.lines[-20:]) + run.tails()
    assert run.lines[-1] == "stopped"
    left = [pid for pid in children if _alive(pid)]
    assert not left, f"children still running after the stop: {left}"
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{base}/health", timeout=2)
