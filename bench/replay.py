"""Replaying a draft of the heart-failure pathway on 100,000 stored uploads, on PostgreSQL.

    .venv/bin/python bench/replay.py [--patients 1000] [--days 100]
                                     [--database-url URL] [--keep SCHEMA]

Issue 13 "Speed": replaying 100,000 uploads of the heart-failure pathway (windows over
readings: the weight gain over 3 days) takes under 60 s, streams (memory stays flat), and
the worklist stays responsive meanwhile. A fresh PostgreSQL schema, migrated, the rules of
rules/ published, then synthetic data by set-based SQL (no rows pass through Python):
``--patients`` patients enrolled in heart-failure, one weight a day for ``--days`` days each
(one Observation, one reading, one stored result of kind ``upload`` made by the version in
force), and an open worklist item for each patient. Then the draft (``gain_red`` 2.0 ->
1.5) is replayed over the whole period, while another process asks ``GET /api/worklist``
again and again. Prints uploads/s, the peak memory (RSS) before and after the replay, and
the worklist's p50/p95. The schema is dropped at the end (``--keep``: reused and kept).
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from ingest import fnr  # noqa: E402  (bench/ingest.py: the synthetic-id convention)
from schema import bench_schema  # noqa: E402  (bench/schema.py)

START = dt.datetime(2026, 6, 1, 6, 0, tzinfo=dt.UTC)
WEIGHT = "http://loinc.org|29463-7"


def generate(conn: sa.Connection, patients: int, days: int, sha: str, version: int) -> None:
    params = {"patients": patients, "days": days, "start": START, "sha": sha, "v": version}

    def run(sql: str) -> None:
        conn.execute(sa.text(sql), params)

    conn.execute(sa.text("SELECT setseed(0.13)"))
    conn.execute(
        sa.text(
            "INSERT INTO patient (id, identifier_system, identifier_value, name, resource,"
            " created) VALUES (:id, 'urn:oid:2.16.578.1.12.4.1.4.1', :fnr, NULL,"
            ' CAST(\'{"resourceType": "Patient"}\' AS json), :start)'
        ),
        [{"id": f"p-hf-{n:06d}", "fnr": fnr(n), "start": START} for n in range(patients)],
    )
    run("""
        INSERT INTO enrolment (patient_id, pathway_id, thresholds, enrolled_at, enrolled_by,
                               active)
        SELECT 'p-hf-' || lpad(n::text, 6, '0'), 'heart-failure',
               CAST(CASE WHEN n % 5 = 0 THEN '{"gain_red": 2.5}' ELSE '{}' END AS json),
               :start, 'bench', true
        FROM generate_series(0, :patients - 1) AS n""")
    # One weight a day: a slow wave with noise, so some 3-day gains pass 1.5 or 2 kg.
    run("""
        CREATE TEMP TABLE w AS
        SELECT 'p-hf-' || lpad(p::text, 6, '0') AS pid,
               'o-hf-' || p || '-' || d AS rid,
               :start + d * interval '1 day' + (p % 600) * interval '1 minute' AS at,
               round((80 + 2.2 * sin(d / 4.0 + p) + random() * 0.9)::numeric, 1) AS kg
        FROM generate_series(0, :patients - 1) AS p, generate_series(0, :days - 1) AS d""")
    run("""
        INSERT INTO resource (id, resource_type, patient_id, body, data_time, received_at,
                              routed, version_id, withdrawn)
        SELECT rid, 'Observation', pid, CAST('{"resourceType": "Observation"}' AS json),
               at, at + interval '2 minutes', true, 1, false FROM w""")
    run(f"""
        INSERT INTO reading (resource_id, patient_id, code, value, unit, time)
        SELECT rid, pid, '{WEIGHT}', kg, 'kg', at FROM w""")
    # The stored result: the gain over 3 days as the version in force judged it (red 2,
    # yellow 1; red 2.5 for a fifth), recorded as the worker records it.
    run("""
        CREATE TEMP TABLE g AS
        SELECT w.*, w.kg - first_value(w.kg) OVER (
                   PARTITION BY w.pid ORDER BY w.at
                   RANGE BETWEEN interval '3 days' PRECEDING AND CURRENT ROW) AS gain,
               CASE WHEN right(w.pid, 6)::int % 5 = 0 THEN 2.5 ELSE 2.0 END AS red
        FROM w""")
    run("""
        INSERT INTO triageresult (id, task_key, patient_id, pathway_id, version, sha256, level,
                                  result, sources, data_time, created, resource_id,
                                  resource_version, kind)
        SELECT 'r-' || rid, rid || '/heart-failure', pid, 'heart-failure', :v, :sha,
               CASE WHEN gain >= red THEN 'red' WHEN gain >= 1 THEN 'yellow' ELSE 'green' END,
               CAST(json_build_object(
                 'level', CASE WHEN gain >= red THEN 'red' WHEN gain >= 1 THEN 'yellow'
                          ELSE 'green' END,
                 'fired', CASE WHEN gain >= red THEN json_build_array('rapid-weight-gain',
                                                                     'weight-gain')
                               WHEN gain >= 1 THEN json_build_array('weight-gain')
                               ELSE json_build_array() END,
                 'enrolled', true, 'reasons', json_build_array(),
                 'thresholds', json_build_object('gain_red', red),
                 'patient_thresholds', CASE WHEN red = 2.5 THEN json_build_array('gain_red')
                                            ELSE json_build_array() END) AS json),
               CAST('[]' AS json), at, at + interval '3 minutes', rid, 1, 'upload'
        FROM g""")
    run("""
        INSERT INTO worklistitem (id, open_key, patient_id, pathway_id, kind, level,
                                  result_level, sort_rank, status, reasons, sources,
                                  created, updated)
        SELECT 'i-hf-' || n, 'p-hf-' || lpad(n::text, 6, '0') || '|heart-failure',
               'p-hf-' || lpad(n::text, 6, '0'), 'heart-failure', 'triage',
               (ARRAY['red', 'yellow'])[n % 2 + 1], (ARRAY['red', 'yellow'])[n % 2 + 1],
               n % 2, 'open', CAST('[]' AS json), CAST('[]' AS json), :start, :start
        FROM generate_series(0, :patients - 1) AS n""")


def worklist_load(stop: Any, out: Any, env: dict[str, str]) -> None:
    """Another process: GET /api/worklist (a page of 50) again and again until told."""
    os.environ.update(env)
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.auth import create_token
    from runtime.settings import get_settings

    token = create_token(get_settings(), role="clinician", pathways=["*"])  # type: ignore[arg-type]
    times = []
    with TestClient(create_app()) as client:
        while not stop.is_set():
            began = time.perf_counter()
            answer = client.get(
                "/api/worklist?pathway=heart-failure&limit=50",
                headers={"Authorization": f"Bearer {token}"},
            )
            times.append(time.perf_counter() - began)
            assert answer.status_code == 200, answer.text
            time.sleep(0.05)
    out.put(times)


def run(args: argparse.Namespace) -> None:
    from runtime.settings import get_settings
    from store.db import get_engine, migrate, session_scope
    from store.pathways import version_row
    from usecases.publishing import check, sync_rules_dir
    from usecases.replay import Period, replay

    migrate()
    with session_scope() as session:
        sync_rules_dir(session, get_settings().rules_dir)
        active = version_row(session, "heart-failure")
        assert active is not None
        sha, version = active.sha256, active.version
    engine = get_engine()
    with engine.begin() as conn:
        empty = conn.execute(sa.text("SELECT count(*) FROM triageresult")).scalar_one() == 0
    if empty:
        began = time.perf_counter()
        with engine.begin() as conn:
            generate(conn, args.patients, args.days, sha, version)
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in ("resource", "reading", "triageresult", "worklistitem", "patient"):
                conn.execute(sa.text(f"VACUUM (ANALYZE) {table}"))
        print(f"generated in {time.perf_counter() - began:.0f} s", flush=True)
    text = (get_settings().rules_dir / "heart-failure.yaml").read_text(encoding="utf-8")
    text = text.replace("gain_red: {value: 2.0,", "gain_red: {value: 1.5,")
    draft = check(text.replace("\nversion: 1\n", "\nversion: 2\n"), "heart-failure")
    period = Period(START - dt.timedelta(days=1), START + dt.timedelta(days=args.days + 1), "all")

    spawn = mp.get_context("spawn")  # a fork would share this process's database sockets
    stop, out = spawn.Event(), spawn.Queue()
    load = spawn.Process(target=worklist_load, args=(stop, out, dict(os.environ)))
    load.start()
    time.sleep(3)  # the other process is up and asking
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    began = time.perf_counter()
    report = replay(draft, period).to_dict()
    took = time.perf_counter() - began
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stop.set()
    times = sorted(out.get(timeout=60))
    load.join(timeout=30)
    n = report["uploads"]
    print(f"replayed {n:,} uploads in {took:.1f} s: {n / took:,.0f} uploads/s")
    print(f"peak memory (RSS): {rss_before:.0f} MB before the replay, {rss_after:.0f} MB after")
    print(f"matrix: {report['matrix']}")
    print(f"new red patients: {len(report['new_red_patients'])}")
    p95 = times[int(0.95 * (len(times) - 1))]
    print(
        f"worklist during the replay: {len(times)} requests, "
        f"p50 {statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--keep", help="use (and keep) this schema; generate only if empty")
    args = parser.parse_args()
    with bench_schema(
        args.database_url,
        "bench_replay",
        args.keep,
        REDIS_URL="",
        RATE_LIMIT_STAFF_PER_MINUTE="100000",
    ):
        run(args)


if __name__ == "__main__":
    main()
