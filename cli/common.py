"""What several commands share: printing, the Celery command line, development tokens,
publishing ``rules/``, and the refusals every entry point makes before it starts."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def say(text: str = "", err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")
    stream.flush()


def celery_command(kind: str, extra: list[str], loglevel: str = "INFO") -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "worker.app",
        kind,
        f"--loglevel={loglevel}",
        *extra,
    ]


def no_production(what: str) -> bool:
    from runtime.settings import get_settings

    if get_settings().environment == "production":
        say(f"triage {what}: refused: ENVIRONMENT=production (development tokens only)", True)
        return True
    return False


def secret_checked(name: str, command: Any) -> Any:
    """The command, refusing to start with a placeholder signing secret outside development
    (a clear line on stderr and exit 2, not a traceback from the first settings read)."""

    def checked(args: argparse.Namespace) -> int:
        from runtime.settings import Settings

        try:
            Settings().check_secret()
        except RuntimeError as exc:
            say(f"triage {name}: refused to start: {exc}", True)
            return 2
        code: int = command(args)
        return code

    return checked


def token_maker(hours: int | None = None) -> Any:
    """``(role, patient id) -> token``: clinicians and authors are granted every pathway."""
    from api.auth import Role, create_token
    from runtime.settings import get_settings

    def make(role: Role, patient_id: str | None) -> str:
        pathways = None if role == "patient" else ["*"]
        return create_token(
            get_settings(), role=role, patient_id=patient_id, pathways=pathways, hours=hours
        )

    return make


def publish_rules() -> list[str]:
    from runtime.settings import get_settings
    from store.db import session_scope
    from usecases.publishing import sync_rules_dir

    with session_scope() as session:
        return sync_rules_dir(session, get_settings().rules_dir)
