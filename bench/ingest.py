"""Ingest speed against PostgreSQL + Redis + real Celery workers on this machine.

    .venv/bin/python bench/ingest.py [--seconds 15] [--database-url URL] [--redis-url URL]

Starts the API (uvicorn, 2 processes: BENCH_API_PROCESSES) and a Celery worker (1 process:
BENCH_WORKER_PROCESSES) against a fresh PostgreSQL schema and a Redis database of their
own, then prints:

1. single-resource POSTs per second (target: at least 300),
2. resources per second in transaction Bundles of 100 (target: at least 2,000),
3. the time from POST to the item on the worklist at a steady 100 resources per second,
   median and 95th percentile (target: p95 under 2 s): the POST's send time against the
   commit time of the triage result that put it on the worklist.

Single POSTs are driven by the Python client and, when installed, by wrk (`make
bench-ingest` installs it); before each figure the worker drains what the previous one
queued. All traffic goes to 127.0.0.1 and every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
API_PROCESSES = int(os.environ.get("BENCH_API_PROCESSES", "2"))
WORKER_PROCESSES = int(os.environ.get("BENCH_WORKER_PROCESSES", "1"))
RATE_LIMITS_OFF = {"RATE_LIMIT_PATIENT_PER_MINUTE": "0", "RATE_LIMIT_STAFF_PER_MINUTE": "0"}
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fnr(n: int) -> str:
    """A synthetic national id with valid control digits (month +80: never a real person)."""
    day, month, year = 1 + n % 28, 81 + (n // 28) % 12, 50 + (n // 336) % 50
    individual = 100 + (n // 16800) % 400
    while True:
        digits = [int(c) for c in f"{day:02d}{month:02d}{year:02d}{individual:03d}"]
        k1 = 11 - sum(d * w for d, w in zip(digits, (3, 7, 6, 1, 8, 9, 4, 5, 2), strict=True)) % 11
        k1 = 0 if k1 == 11 else k1
        digits.append(k1)
        k2 = (
            11
            - sum(d * w for d, w in zip(digits, (5, 4, 3, 2, 7, 6, 5, 4, 3, 2), strict=True)) % 11
        )
        k2 = 0 if k2 == 11 else k2
        if k1 != 10 and k2 != 10:
            return "".join(map(str, [*digits, k2]))
        individual += 1
        digits = []


def weight(patient: str, value: float, at: dt.datetime) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "identifier": [{"system": "urn:bench", "value": uuid.uuid4().hex}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": at.isoformat(),
        "valueQuantity": {
            "value": value,
            "unit": "kg",
            "system": "http://unitsofmeasure.org",
            "code": "kg",
        },
    }


class Stack:
    """The API and a worker as child processes, against their own database and Redis db."""

    def __init__(
        self,
        database_url: str,
        redis_url: str,
        api_processes: int = API_PROCESSES,
        worker_processes: int = WORKER_PROCESSES,
        as_triage_run: bool = False,
        worker_pool: str | None = None,
    ) -> None:
        """``as_triage_run``: the API as ``triage serve`` and the worker at INFO, as ``triage
        run`` starts them (JSON log lines included), instead of bare uvicorn."""
        self.api_processes, self.worker_processes = api_processes, worker_processes
        self.as_triage_run, self.worker_pool = as_triage_run, worker_pool
        self.schema = f"bench_{uuid.uuid4().hex[:8]}"
        self.admin = sa.create_engine(
            database_url.replace("postgresql://", "postgresql+psycopg://")
        )
        with self.admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
        self.env = {
            **os.environ,
            "ENVIRONMENT": "development",
            "REDIS_URL": redis_url,
            "DATABASE_URL": f"{database_url}?options=-csearch_path%3D{self.schema}",
            # One token sends everything here: with the write limits on, this would measure
            # the limiter (bench/ratelimit.py measures that), not ingest.
            **RATE_LIMITS_OFF,
        }
        self.port = free_port()
        self.api_host = "127.0.0.1"
        # Where each process runs: a command prefix (``ip netns exec NS``) and the settings
        # that differ there (the database and broker as seen from that namespace).
        self.places: dict[str, tuple[list[str], dict[str, str]]] = {}
        self.procs: list[subprocess.Popen[bytes]] = []
        self.log = Path(f"/tmp/bench-ingest-{self.schema}.log").open("wb")  # noqa: SIM115 (closed in stop)

    @property
    def base(self) -> str:
        return f"http://{self.api_host}:{self.port}"

    def run(self, *args: str) -> None:
        subprocess.run(
            [str(ROOT / ".venv" / "bin" / "triage"), *args],
            env=self.env,
            cwd=ROOT,
            check=True,
            stdout=self.log,
            stderr=self.log,
        )

    def start(self) -> None:
        import redis

        redis.Redis.from_url(self.env["REDIS_URL"]).flushdb()
        self.run("migrate")
        self.run("publish-rules")
        python = sys.executable
        where = ["--host", self.api_host, "--port", str(self.port)]
        quiet = ["--log-level", "warning", "--no-access-log"]
        api = (
            [python, "-m", "cli", "serve", *where, "--workers", str(self.api_processes)]
            if self.as_triage_run
            else [python, "-m", "uvicorn", "api.app:create_app", "--factory", *where, *quiet]
        )
        if not self.as_triage_run:
            api += ["--workers", str(self.api_processes)]
        level = "INFO" if self.as_triage_run else "WARNING"
        worker = [python, "-m", "celery", "-A", "worker.app", "worker"]
        worker += [f"--concurrency={self.worker_processes}", f"--loglevel={level}"]
        worker += ["--without-gossip", "--without-mingle"]
        if self.worker_pool:
            worker += [f"--pool={self.worker_pool}"]
        for name, command in (("api", api), ("worker", worker)):
            prefix, env = self.places.get(name, ([], {}))
            self.procs.append(
                subprocess.Popen(
                    [*prefix, *command],
                    env={**self.env, **env},
                    cwd=ROOT,
                    stdout=self.log,
                    stderr=self.log,
                )
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError("the API did not become ready")

    def token(self, role: str) -> str:
        out = subprocess.run(
            [str(ROOT / ".venv" / "bin" / "triage"), "token", "--role", role, "--pathways", "*"],
            env=self.env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip().splitlines()[-1]

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        with self.admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
        self.admin.dispose()
        self.log.close()

    def sql(self, query: str, **params: Any) -> list[Any]:
        with self.admin.begin() as conn:
            conn.execute(sa.text(f'SET search_path TO "{self.schema}"'))
            return list(conn.execute(sa.text(query), params))


async def make_patients(client: httpx.AsyncClient, count: int) -> list[str]:
    ids = []
    for n in range(count):
        body = {
            "resourceType": "Patient",
            "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": fnr(n)}],
            "name": [{"family": f"Benk{n}", "given": ["Test"]}],
        }
        response = await client.post("/fhir/Patient", json=body)
        response.raise_for_status()
        ids.append(response.json()["id"])
    return ids


async def single_posts(
    client: httpx.AsyncClient, patients: list[str], seconds: float, concurrency: int = 16
) -> float:
    done = 0
    stop = time.monotonic() + seconds
    now = dt.datetime.now(dt.UTC)

    async def loop(k: int) -> None:
        nonlocal done
        i = 0
        while time.monotonic() < stop:
            body = weight(patients[(k + i) % len(patients)], 80 + (i % 20) / 10, now)
            response = await client.post("/fhir/Observation", json=body)
            response.raise_for_status()
            done += 1
            i += 1

    start = time.monotonic()
    await asyncio.gather(*(loop(k) for k in range(concurrency)))
    return done / (time.monotonic() - start)


def wrk_single_posts(
    stack: Stack, token: str, patients: list[str], seconds: float, connections: int = 32
) -> float | None:
    """Single POSTs driven by wrk (a C load generator), when it is installed: the Python
    client tops out near the server's own rate on two cores, wrk barely loads the machine."""
    if shutil.which("wrk") is None:
        return None
    script = ROOT / "bench" / "wrk" / "post_observation.lua"
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{int(seconds)}s",
            "-s",
            str(script),
            stack.base,
            "--",
            token,
            *patients[:20],
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("WRK "))
    requests, micros, errors = (int(x) for x in line.split()[1:])
    if errors:
        raise RuntimeError(f"wrk saw {errors} failed requests")
    return requests / (micros / 1e6)


async def bundle_posts(
    client: httpx.AsyncClient, patients: list[str], seconds: float, concurrency: int = 4
) -> float:
    done = 0
    stop = time.monotonic() + seconds

    async def loop(k: int) -> None:
        nonlocal done
        i = 0
        while time.monotonic() < stop:
            patient = patients[(k + i) % len(patients)]
            base = dt.datetime.now(dt.UTC) - dt.timedelta(hours=100)
            entries = [
                {
                    "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                    "resource": weight(patient, 80 + j / 100, base + dt.timedelta(hours=j)),
                    "request": {"method": "POST", "url": "Observation"},
                }
                for j in range(100)
            ]
            bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
            response = await client.post("/fhir", json=bundle)
            response.raise_for_status()
            done += 100
            i += 1

    start = time.monotonic()
    await asyncio.gather(*(loop(k) for k in range(concurrency)))
    return done / (time.monotonic() - start)


async def steady_latency(
    client: httpx.AsyncClient,
    stack: Stack,
    patients: list[str],
    seconds: float,
    rate: float = 100.0,
) -> tuple[float, float, int]:
    sent: dict[str, float] = {}
    tasks = []
    interval = 1 / rate
    start = time.monotonic()
    wall0 = time.time()

    async def post(i: int) -> None:
        body = weight(patients[i % len(patients)], 81.0, dt.datetime.now(dt.UTC))
        t0 = wall0 + (time.monotonic() - start)
        for attempt in range(3):
            try:
                response = await client.post("/fhir/Observation", json=body)
                break
            except httpx.TransportError:
                # A keep-alive connection the server closed while idle (the drain before
                # this phase can outlast uvicorn's 5 s): send the same body again, as an
                # app would; its identifier makes sure it is stored once.
                if attempt == 2:
                    raise
        response.raise_for_status()
        sent[response.json()["id"]] = t0

    for i in range(int(seconds * rate)):
        tasks.append(asyncio.create_task(post(i)))
        await asyncio.sleep(max(0.0, start + (i + 1) * interval - time.monotonic()))
    await asyncio.gather(*tasks)
    deadline = time.monotonic() + 60
    rows: list[Any] = []
    while time.monotonic() < deadline:
        rows = stack.sql(
            "SELECT r.id, t.created FROM resource r JOIN triageresult t "
            "ON t.outbox_id = r.outbox_id WHERE r.id = ANY(:ids)",
            ids=list(sent),
        )
        if len({row[0] for row in rows}) >= len(sent):
            break
        await asyncio.sleep(1)
    first = {}
    for rid, created in rows:
        first[rid] = min(first.get(rid, created.timestamp()), created.timestamp())
    latencies = sorted(first[rid] - sent[rid] for rid in first)
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    return statistics.median(latencies), p95, len(sent) - len(latencies)


async def drain(stack: Stack, limit: float = 300.0) -> None:
    """Wait until the worker has triaged everything queued, so each figure is measured on
    its own and not while the worker is still catching up on the previous one."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if stack.sql("SELECT count(*) FROM outbox WHERE done_at IS NULL")[0][0] == 0:
            return
        await asyncio.sleep(1)


async def main_async(args: argparse.Namespace, stack: Stack) -> dict[str, float]:
    token = stack.token("author")
    print("write rate limits off for this run (RATE_LIMIT_*_PER_MINUTE=0)", flush=True)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(
        base_url=stack.base, limits=limits, timeout=30, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        patients = await make_patients(client, 50)
        single = await single_posts(client, patients, args.seconds)
        print(
            f"single-resource POSTs per second, Python client: {single:,.0f}  (target >= 300)",
            flush=True,
        )
        await drain(stack)
        by_wrk = wrk_single_posts(stack, token, patients, args.seconds)
        if by_wrk is not None:
            print(
                f"single-resource POSTs per second, wrk: {by_wrk:,.0f}  (target >= 300)", flush=True
            )
            single = max(single, by_wrk)
        await drain(stack)
        bundled = await bundle_posts(client, patients, args.seconds)
        print(
            f"resources per second in transaction Bundles of 100: {bundled:,.0f}  "
            f"(target >= 2,000)",
            flush=True,
        )
        await drain(stack)
        median, p95, missing = await steady_latency(client, stack, patients, args.seconds)
        print(
            f"POST -> worklist at 100 resources/s: median {median * 1000:,.0f} ms, "
            f"p95 {p95 * 1000:,.0f} ms  (target p95 < 2,000 ms); not triaged: {missing}"
        )
    return {
        "single_per_s": single,
        "bundle_resources_per_s": bundled,
        "latency_median_ms": median * 1000,
        "latency_p95_ms": p95 * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7")
    args = parser.parse_args()
    stack = Stack(args.database_url, args.redis_url)
    try:
        stack.start()
        figures = asyncio.run(main_async(args, stack))
        print(json.dumps(figures))
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
