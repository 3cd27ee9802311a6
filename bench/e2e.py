"""End to end under load (issue 15): POST -> item on the worklist, PostgreSQL + Redis + the
API and one worker process as ``triage run`` starts them.

    .venv/bin/python bench/e2e.py [--seconds 20] [--rates 25,50,100,200,300,400]
        [--workers 1] [--api-processes 1] [--no-bursts] [--no-api] [--json FILE]

1. **Rate sweep, open loop** (bench/openloop.py): single uploads from 200 enrolled patients
   (120 heart failure: weights, blood pressure, SpO2; 80 COPD: SpO2 and CAT responses, 10 %
   questionnaire responses in all) at each rate for ``--seconds``. For each rate: p50 /
   p95 / p99 of POST -> worklist (the scheduled send time to the moment the judging job's
   commit is seen, bench/e2e_watch.py); the uploads judged per second while sending and the
   backlog left when sending stops (past the knee the backlog grows, and the percentiles
   only describe the uploads judged within the wait). The knee is the highest rate whose
   p95 is under 1 s with no backlog left.
2. **CPU per upload** at 100/s: CPU seconds of the API, the worker, PostgreSQL and Redis
   (/proc, bench/procs.py) from the start of the phase until its last upload is judged,
   divided by the uploads; beside the floor measured here: ``fhir.resources`` parse +
   validate of the same Observation, plus one engine evaluation of heart failure.
3. **Bursts**: a phone uploading 288 CGM readings as one Bundle, POST -> all 288 on the
   worklist; then 1,000 patients each uploading a Bundle of 24 within 10 s.
4. **Memory**: peak RSS of the API and the worker (process trees) over all of it.
5. **API alone** (as bench/ingest.py): single POSTs with wrk, and Bundles of 100.

Everything is bounded in count and time; the schema and Redis database are the run's own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import e2e_data as data
from e2e_floor import floor_seconds
from e2e_report import report
from e2e_watch import Watch
from ingest import Stack, bundle_posts, drain, wrk_single_posts
from openloop import Connections, Request, run_schedule
from procs import named_cpu, tree_cpu, tree_rss

DRAIN_LIMIT = 120.0
PROFILE = ""  # --profile DIR
FORWARDERS: list[int] = []  # --netns: the socat processes, whose CPU is reported apart
NOT_SERVER = ("load generator", "socat forwarding")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class Memory:
    """Peak RSS of the API and worker trees, sampled every half second."""

    def __init__(self, stack: Stack) -> None:
        self.stack, self.api, self.worker = stack, 0, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(0.5):
            self.api = max(self.api, tree_rss(self.stack.procs[0].pid))
            self.worker = max(self.worker, tree_rss(self.stack.procs[1].pid))


def cpu_now(stack: Stack, watch: Watch) -> dict[str, float]:
    return {
        "api": tree_cpu(stack.procs[0].pid),
        "worker": tree_cpu(stack.procs[1].pid),
        "postgres": named_cpu("postgres", leave_out=[watch.backend_pid]),
        "redis": named_cpu("redis-server"),
        "load generator": resource.getrusage(resource.RUSAGE_SELF).ru_utime
        + resource.getrusage(resource.RUSAGE_SELF).ru_stime,
        **({"socat forwarding": sum(tree_cpu(pid) for pid in FORWARDERS)} if FORWARDERS else {}),
    }


def profile(stack: Stack, folder: str, seconds: float, rate: float) -> list[Any]:
    """py-spy on the API and the worker trees for the phase (collapsed stacks, one file
    each, for reading by hand); nothing when py-spy is not installed."""
    spy = Path(sys.executable).parent / "py-spy"
    if not spy.exists():
        print("--profile: py-spy is not installed (.venv/bin/pip install py-spy)", flush=True)
        return []
    Path(folder).mkdir(parents=True, exist_ok=True)
    return [
        subprocess.Popen(
            [
                str(spy),
                "record",
                "--pid",
                str(proc.pid),
                "--subprocesses",
                "--gil",  # only samples holding the GIL: where the CPU goes, not the waits
                "--nonblocking",
                "--rate",
                "250",
                "--duration",
                str(int(seconds)),
                "--format",
                "raw",
                "--output",
                f"{folder}/{name}-{rate:.0f}.txt",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, proc in (("api", stack.procs[0]), ("worker", stack.procs[1]))
    ]


async def one_rate(
    conns: Connections,
    watch: Watch,
    stack: Stack,
    patients: tuple[list[str], list[str]],
    rate: float,
    seconds: float,
) -> dict[str, Any]:
    count = int(rate * seconds)
    sent: dict[str, float] = {}
    refused = 0

    def on_answer(outcome: Any) -> None:
        nonlocal refused
        ids = data.ids_of(outcome.answer) if outcome.status < 300 else []
        if not ids:
            refused += 1
        for rid in ids:
            sent[rid] = outcome.at
        watch.expect(ids)

    uploads = data.mixed_uploads(*patients)
    reqs = (Request(r.path, r.body, on_answer) for r in data.requests(uploads, count))
    spies = profile(stack, PROFILE, seconds, rate) if PROFILE else []
    resent, failed = conns.resent, conns.failed
    before = cpu_now(stack, watch)
    start = time.time()
    await run_schedule(conns, reqs, rate)
    sending = time.time() - start
    left = watch.pending()
    judged_while_sending = sum(1 for rid in sent if watch.seen.get(rid, 1e18) <= start + sending)
    complete = await asyncio.to_thread(watch.wait_all, DRAIN_LIMIT)
    after = cpu_now(stack, watch)
    for spy in spies:
        spy.wait(timeout=60)
    latencies = [watch.seen[rid] - at for rid, at in sent.items() if rid in watch.seen]
    return {
        "rate": rate,
        "uploads": len(sent),
        "refused": refused,
        "sent_again": conns.resent - resent,
        "gave_up": conns.failed - failed,
        "p50_ms": 1000 * percentile(latencies, 0.50),
        "p95_ms": 1000 * percentile(latencies, 0.95),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "max_ms": 1000 * max(latencies, default=float("nan")),
        "judged_per_s_while_sending": judged_while_sending / sending,
        "accepted_per_s": len(sent) / sending,  # below the rate: the API is the limit
        "backlog_at_end": left,
        "backlog_growth_per_s": left / sending,
        "all_judged": complete,
        "cpu_s": {k: after[k] - before[k] for k in after},
    }


async def cgm_burst(conns: Connections, watch: Watch, patient: str) -> dict[str, float]:
    """One phone's day of 5-minute readings in one Bundle: POST -> all 288 on the worklist."""
    body = data.cgm_day(
        patient, data.dt.datetime.now(data.dt.UTC), 288, data.dt.timedelta(minutes=5)
    )
    start = time.time()
    status, answer = await conns.send(Request("/fhir", json.dumps(body).encode()))
    posted = time.time() - start
    ids = data.ids_of(answer)
    assert status < 300 and len(ids) == 288, (status, str(answer)[:300])
    watch.expect(ids)
    await asyncio.to_thread(watch.wait_all, DRAIN_LIMIT)
    return {
        "post_ms": 1000 * posted,
        "to_worklist_ms": 1000 * (max(watch.seen[i] for i in ids) - start),
    }


async def many_bundles(conns: Connections, watch: Watch, patients: list[str]) -> dict[str, float]:
    """Every patient uploads one Bundle of 24 hourly readings, all within 10 s."""
    now = data.dt.datetime.now(data.dt.UTC)
    bundles: dict[int, list[str]] = {}
    sent_at: dict[int, float] = {}

    def request(n: int, patient: str) -> Request:
        def on_answer(outcome: Any) -> None:
            bundles[n] = data.ids_of(outcome.answer)
            sent_at[n] = outcome.at
            watch.expect(bundles[n])

        body = data.cgm_day(patient, now, 24, data.dt.timedelta(hours=1))
        return Request("/fhir", json.dumps(body).encode(), on_answer)

    start, resent = time.time(), conns.resent
    await run_schedule(conns, (request(n, p) for n, p in enumerate(patients)), len(patients) / 10)
    await asyncio.to_thread(watch.wait_all, 300.0)
    per_bundle = [
        max(watch.seen.get(i, float("nan")) for i in ids) - sent_at[n] for n, ids in bundles.items()
    ]
    last = max(watch.seen.get(i, 0.0) for ids in bundles.values() for i in ids)
    return {
        "bundles": len(bundles),
        "p50_ms": 1000 * percentile(per_bundle, 0.5),
        "p95_ms": 1000 * percentile(per_bundle, 0.95),
        "all_on_worklist_s": last - start,
        "sent_again": conns.resent - resent,
    }


async def main_async(args: argparse.Namespace, stack: Stack) -> dict[str, Any]:
    watch = Watch(stack.env["DATABASE_URL"].split("?")[0], stack.schema)
    memory = Memory(stack)
    out: dict[str, Any] = {"machine": machine()}
    clinician = stack.token("clinician")
    author = stack.token("author")
    headers = {"Authorization": f"Bearer {clinician}", "Content-Type": "application/fhir+json"}
    conns = Connections(stack.api_host, stack.port, headers)
    try:
        async with httpx.AsyncClient(base_url=stack.base, headers=headers, timeout=60) as client:
            heart = await data.enrolled_patients(client, 0, 120, data.HEART)
            copd = await data.enrolled_patients(client, 120, 80, data.COPD)
            cgm = await data.enrolled_patients(client, 200, 1 if args.no_bursts else 1001, data.CGM)
        await drain(stack)  # what enrolling queued (judging each new patient) is not measured
        print(f"machine: {out['machine']}", flush=True)
        print(
            f"{'rate/s':>7} {'p50':>8} {'p95':>8} {'p99':>8} {'judged/s':>9} {'backlog':>8}",
            flush=True,
        )
        sweep: list[dict[str, Any]] = []
        for rate in args.rates:
            # Past saturation a shorter phase shows the backlog's growth as well, and the
            # next rate starts only once the worker has caught up.
            saturated = any(r["backlog_at_end"] >= r["rate"] for r in sweep)
            seconds = min(args.seconds, 10.0) if saturated else args.seconds
            row = await one_rate(conns, watch, stack, (heart, copd), rate, seconds)
            sweep.append(row)
            print(
                f"{rate:>7.0f} "
                + " ".join(f"{row[k]:>6.0f}ms" for k in ("p50_ms", "p95_ms", "p99_ms"))
                + f" {row['judged_per_s_while_sending']:>9.0f} {row['backlog_at_end']:>8}"
                + ("" if row["all_judged"] else "  (not all judged within the wait)"),
                flush=True,
            )
            await asyncio.to_thread(watch.wait_all, 3 * DRAIN_LIMIT)
        out["sweep"] = sweep
        out["knee"] = max(
            (
                r["rate"]
                for r in sweep
                if r["p95_ms"] < 1000 and r["all_judged"] and r["backlog_at_end"] < r["rate"]
            ),
            default=0,
        )
        steady = next((r for r in sweep if r["rate"] == 100), None)
        if steady is not None:
            floor = floor_seconds()
            per_upload = {k: v / steady["uploads"] for k, v in steady["cpu_s"].items()}
            server = sum(v for k, v in per_upload.items() if k not in NOT_SERVER)
            out["cpu"] = {
                "per_upload_ms": {k: 1000 * v for k, v in per_upload.items()},
                "server_ms": 1000 * server,
                "floor_ms": {k: 1000 * v for k, v in floor.items()},
                "ratio": server / sum(floor.values()),
            }
        if not args.no_bursts:
            out["cgm_288"] = await cgm_burst(conns, watch, cgm[0])
            out["bundles_1000x24"] = await many_bundles(conns, watch, cgm[1:])
        out["memory_mb"] = {"api": memory.api / 2**20, "worker": memory.worker / 2**20}
        if not args.no_api:
            async with httpx.AsyncClient(
                base_url=stack.base, timeout=60, headers={"Authorization": f"Bearer {author}"}
            ) as client:
                await drain(stack)
                out["wrk_single_per_s"] = wrk_single_posts(stack, author, heart, 10)
                await drain(stack)
                out["bundle100_resources_per_s"] = await bundle_posts(client, heart, 10)
                await drain(stack)
    finally:
        memory.stop.set()
        conns.close()
        watch.close()
    return out


def machine() -> str:
    from engine import machine as describe

    return describe()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rates", default="25,50,100,200,300,400")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--api-processes", type=int, default=1)
    parser.add_argument(
        "--worker-pool", help="Celery pool (prefork, threads, solo); default: as triage"
    )
    parser.add_argument("--no-bursts", action="store_true")
    parser.add_argument(
        "--netns", action="store_true", help="API and worker in network namespaces of their own"
    )
    parser.add_argument("--no-api", action="store_true", help="leave out the API-alone figures")
    parser.add_argument("--json", help="write every figure to this file")
    parser.add_argument("--profile", default="", help="py-spy the API and worker into DIR")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/8")
    args = parser.parse_args()
    args.rates = [float(r) for r in args.rates.split(",")]
    global PROFILE
    PROFILE = args.profile
    stack = Stack(
        args.database_url,
        args.redis_url,
        args.api_processes,
        args.workers,
        as_triage_run=True,
        worker_pool=args.worker_pool,
    )
    with contextlib.ExitStack() as places:
        if args.netns:
            from e2e_netns import separate_hosts

            where, stack.api_host, forwarders = places.enter_context(
                separate_hosts(stack.env["DATABASE_URL"], stack.env["REDIS_URL"])
            )
            stack.places = where
            FORWARDERS.extend(forwarders)
        try:
            stack.start()
            out = asyncio.run(main_async(args, stack))
        finally:
            stack.stop()
    report(out)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
