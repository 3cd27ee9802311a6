"""Tokens for the attack suite: the secret ``triage run`` is started with, patient tokens
signed in this process with it (the CLI takes almost a second per token, and the suite
makes a patient per test), and the CLI's ``triage token`` for the rest."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

from api.auth import create_token
from runtime.settings import Settings
from tests.triage_run import TRIAGE

SECRET = f"safety-secret-{uuid.uuid4().hex}{uuid.uuid4().hex}"


def patient_token(patient_id: str) -> str:
    settings = Settings(jwt_secret=SECRET, environment="test")
    return create_token(settings, role="patient", patient_id=patient_id)


def cli_token(env: dict[str, str], folder: Path, *args: str) -> str:
    done = subprocess.run(
        [str(TRIAGE), "token", *args],
        cwd=folder,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]
