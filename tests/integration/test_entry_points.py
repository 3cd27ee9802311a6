"""Every ``triage`` entry point refuses to start in production with a placeholder signing
secret: a clear line on stderr and exit code 2, before anything starts (run as the real
command in a child process). With a real secret the same commands get past the check."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.settings import DEV_SECRET
from tests.conftest import ROOT, TEST_SECRET

TRIAGE = Path(sys.executable).parent / "triage"
COMMANDS = {
    "run": ["run", "--no-seed"],
    "serve": ["serve"],
    "worker": ["worker"],
    "beat": ["beat"],
    "token": ["token", "--role", "clinician"],
    "migrate": ["migrate"],
    "publish-rules": ["publish-rules"],
    "seed": ["seed"],
    "seed-history": ["seed-history"],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def triage(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "ENVIRONMENT": "production",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'triage.sqlite3'}",
        "REDIS_URL": "",
        "BROKER_DIR": str(tmp_path / "broker"),
        "PORT": str(free_port()),
        **env,
    }
    if "JWT_SECRET" not in env:
        environment.pop("JWT_SECRET", None)  # the default: the development placeholder
    return subprocess.run(
        [str(TRIAGE), *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("secret", [None, DEV_SECRET, "changeme", "short"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_production_with_a_placeholder_secret_does_not_start(
    command: str, secret: str | None, tmp_path: Path
) -> None:
    env = {} if secret is None else {"JWT_SECRET": secret}
    done = triage(COMMANDS[command], tmp_path, **env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == "", "nothing started, no token printed"
    assert done.stderr.strip() == (
        f"triage {command}: refused to start: JWT_SECRET is a placeholder or shorter than "
        "32 characters; set a real secret before running with ENVIRONMENT=production"
    )
    assert not (tmp_path / "triage.sqlite3").exists(), "not even the database was touched"


def test_with_a_real_secret_production_gets_past_the_check(tmp_path: Path) -> None:
    migrated = triage(["migrate"], tmp_path, JWT_SECRET=TEST_SECRET)
    assert migrated.returncode == 0, migrated.stderr
    assert "newest migration" in migrated.stdout
    # A development token is still refused in production, for that reason.
    token = triage(COMMANDS["token"], tmp_path, JWT_SECRET=TEST_SECRET)
    assert token.returncode == 2 and token.stdout == ""
    assert "development tokens only" in token.stderr and "JWT_SECRET" not in token.stderr
