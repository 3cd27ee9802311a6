"""``triage run``: the whole service on one machine, as the README's run command.

Migrates, publishes ``rules/``, writes twelve months of demo history in this process
(through the use cases, once: ``seeds/history_load.py``), starts a Celery worker, the
periodic scheduler and the API as child processes (each in its own process group, logging
to files), loads the demo data through the HTTP API when the database had no patients
before, waits until the worklist is
filled, and prints the URL, a clinician token and a curl command. Ctrl-C or SIGTERM stops
the children (warm shutdown first, then the whole group is killed) before it returns.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from cli.common import celery_command, publish_rules, say, token_maker
from runtime.settings import ROOT, Settings, get_settings


class Stop(Exception):
    """A signal asked the service to stop."""


class Children:
    """Child processes, each the leader of its own process group."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, command: list[str]) -> None:
        log = (self.log_dir / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()

    def dead(self) -> list[str]:
        return [name for name, proc in self.procs.items() if proc.poll() is not None]

    def stop(self, grace: float = 20.0) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for proc in self.procs.values():
            # Whatever is left in the group (a pool process, a stuck child) goes too.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _raise_stop(signum: int, _frame: Any) -> None:
    raise Stop(signal.Signals(signum).name)


def _get(url: str, token: str | None = None) -> Any:
    """The response, or None when nothing answers (yet)."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        return httpx.get(url, headers=headers, timeout=5)
    except httpx.HTTPError:
        return None


def wait_ready(base: str, children: Children, seconds: float = 90) -> None:
    """Until ``GET /fhir/metadata`` answers 200 (the contract's readiness signal)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if children.dead():
            raise RuntimeError(f"{', '.join(children.dead())} exited; see {children.log_dir}")
        response = _get(f"{base}/fhir/metadata")
        if response is not None and response.status_code == 200:
            return
        time.sleep(0.3)
    raise RuntimeError(f"the API did not answer within {seconds:.0f} s; see {children.log_dir}")


def _patient_count() -> int:
    from sqlalchemy import func
    from sqlmodel import select

    from store.db import session_scope
    from store.models import Patient

    with session_scope() as session:
        return int(session.exec(select(func.count()).select_from(Patient)).one())


def _pending_work() -> int:
    from sqlalchemy import func
    from sqlmodel import col, select

    from store.db import session_scope
    from store.models import Outbox

    with session_scope() as session:
        query = select(func.count()).select_from(Outbox)
        query = query.where(col(Outbox.done_at).is_(None), col(Outbox.failed).is_(False))
        return int(session.exec(query).one())


def wait_for_worklist(base: str, token: str, children: Children, seconds: float) -> dict[str, int]:
    """Until every upload is triaged and the worklist has items; returns the counts."""
    deadline = time.monotonic() + seconds
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        if children.dead():
            raise RuntimeError(f"{', '.join(children.dead())} exited; see {children.log_dir}")
        response = _get(f"{base}/api/worklist", token)
        if response is not None and response.status_code == 200:
            counts = response.json().get("counts") or {}
        if sum(counts.values()) and not _pending_work():
            return counts
        time.sleep(1)
    say(f"the worklist is not complete after {seconds:.0f} s (see {children.log_dir})", True)
    return counts


def _banner(
    base: str, token: str, counts: dict[str, int], log_dir: Path, settings: Settings
) -> None:
    database = "a SQLite file" if settings.is_sqlite else "PostgreSQL"
    broker = "Redis" if settings.redis_url else "the filesystem broker"
    shown = ", ".join(f"{counts.get(level, 0)} {level}" for level in ("red", "yellow", "green"))
    say()
    say(f"The service runs at {base} ({database}, {broker}); worklist: {shown}.")
    say("Clinician token (all pathways):")
    say(f"TOKEN={token}")
    say("Try:")
    say(f'  curl -s -H "Authorization: Bearer $TOKEN" {base}/api/worklist')
    say(f"API documentation: {base}/docs   Logs: {log_dir}")
    say("Press Ctrl-C to stop the API, the worker and the scheduler.")


def metrics_dir(settings: Settings) -> Path:
    """A clean ``PROMETHEUS_MULTIPROC_DIR`` for the children (``var/metrics`` unless set), so
    the API's /metrics adds up the worker's counters; last run's files are removed."""
    folder = Path(
        os.environ.get("PROMETHEUS_MULTIPROC_DIR") or settings.broker_dir.parent / "metrics"
    )
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.db"):
        old.unlink(missing_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return folder


def run(args: argparse.Namespace) -> int:
    """The README's run command; returns when stopped."""
    settings = get_settings()
    if settings.environment == "production":
        say("triage run: refused: ENVIRONMENT=production (it prints development tokens)", True)
        return 2
    log_dir = _prepare(settings, args.logs)
    fresh = _patient_count() == 0
    base = f"http://{settings.host}:{settings.port}"
    children = Children(log_dir)
    previous = {s: signal.signal(s, _raise_stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        if not args.no_seed and not args.no_history:
            _load_history()
        _start(children, settings, log_dir)
        wait_ready(base, children)
        say(f"API ready at {base}; worker and scheduler started")
        make = token_maker()
        seeded = not args.no_seed and fresh
        if seeded:
            _load_demo(base, make)
        token = make("clinician", None)
        counts = wait_for_worklist(base, token, children, args.wait)
        if seeded and _flag_overdue():
            counts = wait_for_worklist(base, token, children, args.wait)
        _banner(base, token, counts, log_dir, settings)
        while not children.dead():
            time.sleep(1)
        say(f"{', '.join(children.dead())} exited; stopping (see {log_dir})", True)
        return 1
    except (KeyboardInterrupt, Stop):
        say("\nstopping ...")
        return 0
    except Exception as exc:
        say(f"triage run: {exc}", True)
        return 1
    finally:
        _stop(children, previous)


def _prepare(settings: Settings, logs: str | None) -> Path:
    """Logging, the log and metrics folders, the newest migration and the rules published;
    returns the log folder."""
    from runtime.logs import configure_logging
    from store.db import migrate

    configure_logging("run")
    log_dir = Path(logs) if logs else settings.broker_dir.parent / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    metrics_dir(settings)
    migrate()
    for note in publish_rules():
        say(note)
    return log_dir


def _start(children: Children, settings: Settings, log_dir: Path) -> None:
    """A worker, the scheduler and the API, each a child in its own process group."""
    node = f"run-{uuid.uuid4().hex[:6]}@%h"
    children.start("worker", celery_command("worker", ["--concurrency=2", "-n", node]))
    children.start("beat", celery_command("beat", ["-s", str(log_dir / "celerybeat-schedule")]))
    # ``triage serve``: JSON logs and no uvicorn access log (it would print raw queries).
    serve = ["serve", "--host", settings.host, "--port", str(settings.port)]
    children.start("api", [sys.executable, "-m", "cli", *serve])


def _load_history() -> None:
    """Before the worker and the scheduler start: the history is judged here, as of its
    own times, and nothing else may take its work meanwhile."""
    from seeds.history_load import load_history

    say("writing twelve months of synthetic demo history (once) ...")
    report = load_history(progress=lambda text: say(f"  {text}"))
    say(report.summary())


def _load_demo(base: str, make: Any) -> None:
    from seeds.load import load_demo

    say("loading the synthetic demo data through the API ...")
    report = load_demo(base, make, progress=lambda text: say(f"  {text}"))
    say(f"loaded {report.summary()}")


def _flag_overdue() -> int:
    """The scheduler's first overdue check comes a few minutes after it starts; the demo's
    missing questionnaires should be on the worklist at once. Returns how many."""
    from usecases.periodic import mark_overdue

    try:
        flagged = mark_overdue()
    except Exception as exc:  # a demo nicety: the scheduler does it again in minutes
        say(f"the first overdue check failed ({exc.__class__.__name__}); the scheduler")
        say("  runs it again within OVERDUE_CHECK_SECONDS")
        return 0
    if flagged:
        say(f"{flagged} overdue questionnaire(s) flagged")
    return flagged


def _stop(children: Children, previous: dict[signal.Signals, Any]) -> None:
    """Stop the children with no signal in between, then restore the handlers."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    children.stop()
    for sig, handler in previous.items():
        signal.signal(sig, handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    say("stopped")
