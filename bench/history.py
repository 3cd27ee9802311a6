"""How long the demo history takes to write, on SQLite (``make run``'s default) and on
PostgreSQL, and what it wrote.

    .venv/bin/python bench/history.py [--backend sqlite|postgresql|both] [--scale 1.0]
                                      [--database-url postgresql://postgres@127.0.0.1:5432/test]

Issue 12: ``make run`` loads twelve months of synthetic follow-up for a few hundred
patients through the use cases, in under a minute. Each backend starts empty (a SQLite
file in a temporary folder; a fresh PostgreSQL schema, dropped at the end), is migrated
and has ``rules/`` published, then :func:`seeds.history_load.load_history` runs once and
is timed; the rows it wrote are counted, and a second load must write nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TABLES = (
    "patient",
    "enrolment",
    "resource",
    "triageresult",
    "worklistitem",
    "worklistevent",
    "auditevent",
)


def counts() -> dict[str, int]:
    from store.db import get_engine

    with get_engine().connect() as conn:
        out = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}
        for status, n in conn.execute(
            sa.text("SELECT status, count(*) FROM worklistitem GROUP BY status ORDER BY status")
        ):
            out[f"items {status}"] = n
        for contact, n in conn.execute(
            sa.text(
                "SELECT coalesce(contact, 'not recorded'), count(*) FROM worklistitem "
                "WHERE status = 'resolved' GROUP BY 1 ORDER BY 1"
            )
        ):
            out[f"contact {contact}"] = n
        out["ended enrolments"] = conn.execute(
            sa.text("SELECT count(*) FROM enrolment WHERE NOT active")
        ).scalar_one()
    return out


def measure(name: str, env: dict[str, str], scale: float) -> float:
    from runtime import caches
    from runtime.settings import get_settings
    from seeds.history_load import load_history
    from store.db import migrate, session_scope
    from usecases.publishing import sync_rules_dir

    os.environ.update(env)
    caches.reset()
    migrate()
    with session_scope() as session:
        sync_rules_dir(session, get_settings().rules_dir)
    report = load_history(scale=scale)
    print(f"{name}: {report.summary()}", flush=True)
    written = counts()
    for table, n in written.items():
        print(f"  {table:24} {n:>7}")
    began = time.perf_counter()
    again = load_history(scale=scale)
    assert not again.loaded and counts() == written, "a second load must write nothing"
    print(f"  loading again: nothing written ({time.perf_counter() - began:.1f} s)")
    caches.reset()
    return report.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    secret = f"bench-{uuid.uuid4().hex}{uuid.uuid4().hex}"
    base = {"ENVIRONMENT": "test", "JWT_SECRET": secret, "REDIS_URL": ""}
    times: dict[str, float] = {}
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            env = base | {
                "DATABASE_URL": f"sqlite:///{folder}/history.sqlite3",
                "BROKER_DIR": f"{folder}/broker",
            }
            times["SQLite"] = measure("SQLite", env, args.scale)
    if args.backend in ("postgresql", "both"):
        schema = f"bench_history_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(
            args.database_url.replace("postgresql://", "postgresql+psycopg://")
        )
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            url = f"{args.database_url}?options=-csearch_path%3D{schema}"
            times["PostgreSQL"] = measure("PostgreSQL", base | {"DATABASE_URL": url}, args.scale)
        finally:
            from runtime import caches

            caches.reset()
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    for name, seconds in times.items():
        verdict = "under a minute" if seconds < 60 else "OVER A MINUTE"
        print(f"{name}: the history in {seconds:.1f} s ({verdict})")


if __name__ == "__main__":
    main()
