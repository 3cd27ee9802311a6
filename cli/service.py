"""The service's ``triage`` sub-commands (added to the parser by :mod:`cli.main`).

    triage run            migrate, publish rules/, write the demo history, start worker +
                          beat + API, load the demo, print the URL and a clinician token;
                          Ctrl-C stops everything
    triage serve          the API alone (uvicorn)         triage worker   a Celery worker
    triage beat           the periodic scheduler           triage migrate  Alembic upgrade head
    triage publish-rules  publish rules/*.yaml             triage seed     load the demo data
    triage token          print a development token (refused in production)
    triage seed-history   write twelve months of demo history into the database

Every command is configured by the environment (``DATABASE_URL``, ``REDIS_URL``, ...).
Heavy imports happen inside the commands, so ``triage rules ...`` stays fast.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from cli.common import (
    celery_command,
    no_production,
    publish_rules,
    say,
    secret_checked,
    token_maker,
)
from cli.runner import run
from runtime.settings import ROOT


def cmd_token(args: argparse.Namespace) -> int:
    if no_production("token"):
        return 2
    from api.auth import create_token
    from runtime.settings import get_settings

    pathways = [p.strip() for p in (args.pathways or "").split(",") if p.strip()] or None
    try:
        token = create_token(
            get_settings(),
            role=args.role,
            patient_id=args.patient,
            pathways=pathways,
            hours=args.hours,
            subject=args.subject,
        )
    except ValueError as exc:
        say(f"triage token: {exc}", True)
        return 2
    say(token)
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:
    from store.db import migrate

    migrate()
    say("database at the newest migration")
    return 0


def cmd_publish(_: argparse.Namespace) -> int:
    notes = publish_rules()
    for note in notes:
        say(note)
    refused = [n for n in notes if "not published" in n]
    if not notes:
        say("every pathway file in rules/ is already published")
    return 1 if refused else 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from runtime.logs import configure_logging, dict_config
    from runtime.settings import get_settings

    settings = get_settings()
    configure_logging("api")
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers,
        proxy_headers=True,
        # Our JSON lines in every uvicorn process; uvicorn's access log prints raw paths
        # with their query strings, so the API's middleware writes the access lines instead.
        log_config=dict_config("api"),
        access_log=False,
    )
    return 0


def _exec(command: list[str]) -> int:
    os.chdir(ROOT)
    os.execv(command[0], command)  # the process becomes celery: signals reach it directly
    return 0  # pragma: no cover


def _passed_on(args: argparse.Namespace) -> list[str]:
    extra = list(args.celery_args)
    if extra[:1] == ["--"]:
        extra = extra[1:]
    if getattr(args, "concurrency", None):
        extra = [f"--concurrency={args.concurrency}", *extra]
    if getattr(args, "hostname", None):
        extra = ["-n", args.hostname, *extra]
    return extra


def cmd_worker(args: argparse.Namespace) -> int:
    return _exec(celery_command("worker", _passed_on(args), args.loglevel))


def cmd_beat(args: argparse.Namespace) -> int:
    return _exec(celery_command("beat", _passed_on(args), args.loglevel))


def cmd_seed(args: argparse.Namespace) -> int:
    if no_production("seed"):
        return 2
    from runtime.settings import get_settings
    from seeds.load import SeedError, load_demo

    settings = get_settings()
    url = args.url or f"http://{settings.host}:{settings.port}"
    try:
        report = load_demo(url, token_maker(1), progress=say)
    except (SeedError, OSError) as exc:
        say(f"triage seed: {exc}", True)
        return 1
    say(f"loaded the demo into {url}: {report.summary()}")
    return 0


def cmd_seed_history(args: argparse.Namespace) -> int:
    if no_production("seed-history"):
        return 2
    from seeds.history_load import load_history

    report = load_history(scale=args.scale, progress=lambda text: say(f"  {text}"))
    say(report.summary())
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    return run(args)


def register(commands: Any) -> None:
    """Add the service's sub-commands to the ``triage`` command's sub-parsers."""
    run = commands.add_parser("run", help="the whole service with demo data (make run)")
    run.add_argument("--no-seed", action="store_true", help="load no demo data (nor history)")
    run.add_argument(
        "--no-history", action="store_true", help="skip the twelve months of demo history"
    )
    run.add_argument("--wait", type=float, default=300, help="seconds to wait for the worklist")
    run.add_argument("--logs", help="folder for the children's logs (default var/log)")
    run.set_defaults(run=cmd_run)

    serve = commands.add_parser("serve", help="the API alone (uvicorn)")
    serve.add_argument("--host", help="default HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, help="default PORT or 8000")
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    serve.set_defaults(run=cmd_serve)

    for name, func, text in (
        ("worker", cmd_worker, "a Celery worker (celery -A worker.app worker)"),
        ("beat", cmd_beat, "the periodic scheduler (celery -A worker.app beat)"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--loglevel", default="INFO", help="celery's log level (default INFO)")
        if name == "worker":
            sub.add_argument("--concurrency", type=int, help="worker processes (default: CPUs)")
            sub.add_argument("-n", "--hostname", help="node name, e.g. w1@%%h")
        sub.add_argument(
            "celery_args", nargs=argparse.REMAINDER, help="after --: passed on to celery as is"
        )
        sub.set_defaults(run=func)

    migrate = commands.add_parser("migrate", help="bring the database to the newest migration")
    migrate.set_defaults(run=cmd_migrate)
    publish = commands.add_parser("publish-rules", help="publish the pathway files in rules/")
    publish.set_defaults(run=cmd_publish)
    seed = commands.add_parser("seed", help="load the synthetic demo data into a running API")
    seed.add_argument("--url", help="the API (default http://HOST:PORT)")
    seed.set_defaults(run=cmd_seed)

    history = commands.add_parser(
        "seed-history",
        help="write twelve months of synthetic follow-up through the use cases (once)",
    )
    history.add_argument(
        "--scale", type=float, default=1.0, help="patients relative to the default 320"
    )
    history.set_defaults(run=cmd_seed_history)

    token = commands.add_parser("token", help="print a development token (not in production)")
    token.add_argument("--role", required=True, choices=("patient", "clinician", "author"))
    token.add_argument("--patient", help="the Patient id (required for --role patient)")
    token.add_argument("--pathways", help="granted pathways, comma-separated; '*' for all")
    token.add_argument("--hours", type=int, help="lifetime (default TOKEN_HOURS, 12)")
    token.add_argument("--subject", help="who the token names (default role:dev)")
    token.set_defaults(run=cmd_token)

    # Every entry point checks the signing secret before it starts anything.
    entry_points = ("run", "serve", "worker", "beat", "migrate", "publish-rules", "seed")
    for name in (*entry_points, "seed-history", "token"):
        parser = commands.choices[name]
        parser.set_defaults(run=secret_checked(name, parser.get_default("run")))
