"""One judging job, in process, on PostgreSQL: its wall time, its statements and round trips.

    .venv/bin/python bench/job.py [--patients 40] [--uploads 600] [--profile cumulative]

Issue 15: the worker's hot path. bench/e2e.py measures the whole service under load; this
isolates what one job costs, so a change to the job can be compared before and after in a
minute, one after the other on the same machine. A fresh PostgreSQL schema, migrated, the
rules of rules/ published; ``--patients`` synthetic patients enrolled through the API (in
process, 60 % heart failure, 40 % COPD) send ``--uploads`` uploads of the e2e mix (weights,
blood pressure, SpO2, CAT responses: bench/e2e_data.py), each judged by its own job as the
worker runs it (``usecases.judging.job.triage_outbox``), one after the other. Prints the
median and mean wall time per job, and per job: statements, round trips (statements plus
BEGIN and COMMIT) and the statements by kind. ``--profile SORT``: cProfile of the jobs.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from e2e_data import COPD, HEART, mixed_uploads  # noqa: E402  (bench/e2e_data.py)
from ingest import fnr  # noqa: E402  (bench/ingest.py: the synthetic-id convention)
from schema import bench_schema  # noqa: E402  (bench/schema.py)

PG = "postgresql://postgres@127.0.0.1:5432/test"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=40)
    parser.add_argument("--uploads", type=int, default=600)
    parser.add_argument(
        "--profile",
        default=None,
        help="cProfile sort key (cumulative, tottime), or dump: to /tmp/job.prof",
    )
    parser.add_argument("--database-url", default=os.environ.get("TEST_POSTGRES_URL", PG))
    args = parser.parse_args()
    with bench_schema(args.database_url, "bench_job", BROKER_URL="memory://"):
        run(args.patients, args.uploads, args.profile)


def _client() -> Any:
    from fastapi.testclient import TestClient

    from api.app import create_app

    token = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "triage"), "token", "--role", "author", "--pathways", "*"],
        env=os.environ,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return TestClient(create_app(), headers={"Authorization": f"Bearer {token.splitlines()[-1]}"})


def _enrol(client: Any, patients: int) -> tuple[list[str], list[str]]:
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=30)).isoformat()
    heart: list[str] = []
    copd: list[str] = []
    for n in range(patients):
        body = {
            "resourceType": "Patient",
            "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": fnr(90_000 + n)}],
        }
        made = client.post("/fhir/Patient", json=body)
        made.raise_for_status()
        pid = made.json()["id"]
        pathway = HEART if n % 5 < 3 else COPD
        answer = client.post(
            f"/api/patients/{pid}/enrolments", json={"pathway": pathway, "enrolled_at": since}
        )
        answer.raise_for_status()
        (heart if pathway == HEART else copd).append(pid)
    return heart, copd


def run(patients: int, uploads: int, profile: str | None) -> None:
    import sqlalchemy as sa

    from runtime.settings import get_settings
    from store.db import get_engine, migrate, session_scope
    from usecases.judging import job
    from usecases.publishing import sync_rules_dir

    migrate()
    with session_scope() as session:
        sync_rules_dir(session, get_settings().rules_dir)
    client = _client()
    heart, copd = _enrol(client, patients)
    engine = get_engine()
    source = mixed_uploads(heart, copd)
    rows = []
    for _ in range(uploads):
        path, body = next(source)
        client.post(path, json=body).raise_for_status()
    with engine.begin() as conn:
        rows = [
            r
            for (r,) in conn.execute(
                sa.text("SELECT id FROM outbox WHERE done_at IS NULL ORDER BY id")
            )
        ]
        # Held back, then freed one at a time: each job judges its own upload alone, as at
        # a steady rate (a job takes its patient's waiting uploads along).
        conn.execute(sa.text("UPDATE outbox SET failed = true WHERE done_at IS NULL"))

    statements: list[str] = []
    commands: list[bytes] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()[:3]))

    import psycopg._connection_base as base  # the BEGIN and COMMIT psycopg sends itself

    sent = base.BaseConnection._exec_command

    def _command(self: Any, command: Any, *a: Any, **k: Any) -> Any:
        commands.append(command if isinstance(command, bytes) else b"?")
        return sent(self, command, *a, **k)

    base.BaseConnection._exec_command = _command  # type: ignore[method-assign]
    import cProfile
    import pstats

    profiler = cProfile.Profile() if profile else None
    times: list[float] = []
    counted: collections.Counter[str] = collections.Counter()
    trips = 0
    cpu = 0.0
    for outbox_id in rows:
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE outbox SET failed = false WHERE id = :i"), {"i": outbox_id}
            )
        statements.clear()
        commands.clear()
        began = time.perf_counter()
        began_cpu = time.process_time()
        if profiler:
            profiler.enable()
        job.triage_outbox(outbox_id)
        if profiler:
            profiler.disable()
        times.append(time.perf_counter() - began)
        cpu += time.process_time() - began_cpu
        counted.update(statements)
        trips += len(statements) + len(commands)
    base.BaseConnection._exec_command = sent  # type: ignore[method-assign]
    jobs = len(rows)
    median = statistics.median(times) * 1000
    mean = statistics.mean(times) * 1000
    print(
        f"{jobs} jobs, {patients} patients; per job: median {median:.2f} ms, mean {mean:.2f} ms,"
        f" CPU {cpu / jobs * 1000:.2f} ms; {sum(counted.values()) / jobs:.2f} statements,"
        f" {trips / jobs:.2f} round trips"
    )
    for kind, count in counted.most_common():
        print(f"  {count / jobs:5.2f}  {kind}")
    if profiler and profile == "dump":
        profiler.dump_stats("/tmp/job.prof")
    elif profiler:
        pstats.Stats(profiler).sort_stats(profile).print_stats("work/main|site-packages", 40)


if __name__ == "__main__":
    main()
