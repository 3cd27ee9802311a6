"""``triage seed-history``: the demo history written by the real command into a migrated
SQLite database with the rules published, once; run again, it writes nothing."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

from tests.conftest import ROOT, TEST_SECRET
from tests.triage_run import TRIAGE


def _triage(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TRIAGE), *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_seed_history_writes_the_history_once(tmp_path: Path) -> None:
    database = tmp_path / "triage.sqlite3"
    env = {
        "ENVIRONMENT": "development",
        "JWT_SECRET": TEST_SECRET,
        "DATABASE_URL": f"sqlite:///{database}",
        "REDIS_URL": "",
        "BROKER_DIR": str(tmp_path / "broker"),
    }
    for step in (["migrate"], ["publish-rules"]):
        done = _triage(step, env)
        assert done.returncode == 0, done.stdout + done.stderr
    first = _triage(["seed-history", "--scale", "0.05"], env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "twelve months of demo history in" in first.stdout
    with sqlite3.connect(database) as conn:
        patients = conn.execute("SELECT count(*) FROM patient").fetchone()[0]
        results = conn.execute("SELECT count(*) FROM triageresult").fetchone()[0]
    assert patients == 16 and results > patients, (patients, results)
    second = _triage(["seed-history", "--scale", "0.05"], env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "already in the database" in second.stdout
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM triageresult").fetchone()[0] == results
