"""A bounded soak: steady load for up to 30 minutes, the worker restarted every few minutes.

    .venv/bin/python bench/soak.py [--minutes 10] [--rate 20] [--restart-every 150]
                                   [--patients 200] [--write BENCHMARKS.md]

Starts the API (uvicorn, 2 processes), one Celery worker and the periodic scheduler (beat)
against PostgreSQL and Redis (a fresh schema and Redis database of their own, as
bench/ingest.py does), then, for ``--minutes``:

- patient apps post at a steady ``--rate`` uploads per second, each with its own patient
  token: 70% single weights, 20% blood-pressure panels, 10% Bundles of 24 weights (a phone
  that was offline); a 503, 429 or dropped connection is sent again with the same body, as
  an app would, and the identifier makes that safe;
- every ``--restart-every`` seconds the worker is stopped, alternately with SIGKILL (tasks die
  half-done; the outbox re-send must recover them) and SIGTERM (warm shutdown), and a new one
  is started;
- the resident memory of the API processes and of the worker processes is sampled every 5 s.

When the load stops it waits for the outbox to drain and prints, and with ``--write``
records in BENCHMARKS.md: resources accepted, results, lost, doubled, worklist items; API
and worker memory (after warm-up, at the end, at most; the API's growth over the second
half, per minute); POST-to-worklist median and p95 (all posts, and the posts not sent within
a minute after a SIGKILL). It exits 1 when anything was lost or doubled.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import platform
import random
import re
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import ROOT, Stack, make_patients, weight

PAGE = os.sysconf("SC_PAGE_SIZE")
RETRY_STATUSES = {429, 502, 503, 504}


def bp_panel(patient: str, systolic: int, diastolic: int, at: dt.datetime) -> dict[str, Any]:
    def part(code: str, value: int) -> dict[str, Any]:
        return {
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "valueQuantity": {
                "value": value,
                "unit": "mmHg",
                "system": "http://unitsofmeasure.org",
                "code": "mm[Hg]",
            },
        }

    return {
        "resourceType": "Observation",
        "status": "final",
        "identifier": [{"system": "urn:soak", "value": uuid.uuid4().hex}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": at.isoformat(),
        "component": [part("8480-6", systolic), part("8462-4", diastolic)],
    }


def bundle_of_weights(patient: str, now: dt.datetime, count: int = 24) -> dict[str, Any]:
    start = now - dt.timedelta(hours=count)
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": weight(patient, 80 + j / 50, start + dt.timedelta(hours=j)),
                "request": {"method": "POST", "url": "Observation"},
            }
            for j in range(count)
        ],
    }


def tree_rss(root_pid: int) -> int:
    """Resident bytes of a process and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        except (OSError, IndexError):
            continue
        todo.extend(children.get(pid, []))
    return total


def descendants(root_pid: int) -> list[int]:
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if ppid == root_pid:
                found.append(int(entry.name))
                found.extend(descendants(int(entry.name)))
    return found


@dataclass
class Soak:
    stack: Stack
    worker_command: list[str]
    sent: dict[str, float] = field(default_factory=dict)  # resource id -> send time (epoch)
    uploads: int = 0
    resent: int = 0
    refused: int = 0
    kills: list[float] = field(default_factory=list)  # epoch times of SIGKILL restarts
    restarts: int = 0
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # t, api, worker
    worker_peaks: list[int] = field(default_factory=list)

    @property
    def api(self) -> subprocess.Popen[bytes]:
        return self.stack.procs[0]

    @property
    def worker(self) -> subprocess.Popen[bytes]:
        return self.stack.procs[1]

    def restart_worker(self, hard: bool) -> None:
        old = self.worker
        self.worker_peaks.append(max((s[2] for s in self.samples if s[2]), default=0))
        if hard:
            self.kills.append(time.time())
            for pid in [old.pid, *descendants(old.pid)]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        else:
            old.terminate()
        try:
            old.wait(timeout=60)
        except subprocess.TimeoutExpired:
            old.kill()
            old.wait()
        self.stack.procs[1] = subprocess.Popen(
            self.worker_command,
            env=self.stack.env,
            cwd=ROOT,
            stdout=self.stack.log,
            stderr=self.stack.log,
        )
        self.restarts += 1

    async def post(self, client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> None:
        t0 = time.time()
        for _attempt in range(30):
            try:
                response = await client.post(path, json=body)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code < 300:
                answer = response.json()
                if answer.get("resourceType") == "Bundle":  # locations: Observation/{id}/_history/1
                    ids = [e["response"]["location"].split("/")[1] for e in answer["entry"]]
                else:
                    ids = [answer["id"]]
                for rid in ids:
                    self.sent.setdefault(rid, t0)
                self.uploads += 1
                return
            if response is not None and response.status_code not in RETRY_STATUSES:
                self.refused += 1
                print(f"refused {response.status_code}: {response.text[:200]}", flush=True)
                return
            self.resent += 1
            wait = 1.0
            if response is not None and response.headers.get("retry-after", "").isdigit():
                wait = float(response.headers["retry-after"])
            await asyncio.sleep(min(wait, 5.0) * (1 + random.random()))
        self.refused += 1


async def load(soak: Soak, base: str, tokens: dict[str, str], seconds: float, rate: float) -> None:
    patients = list(tokens)
    clients = {
        pid: httpx.AsyncClient(
            base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"}
        )
        for pid, token in tokens.items()
    }
    tasks: set[asyncio.Task[None]] = set()
    start = time.monotonic()
    i = 0
    try:
        while time.monotonic() - start < seconds:
            pid = patients[i % len(patients)]
            now = dt.datetime.now(dt.UTC)
            kind = i % 10
            if kind < 7:
                path, body = "/fhir/Observation", weight(pid, 80 + (i % 30) / 10, now)
            elif kind < 9:
                path, body = "/fhir/Observation", bp_panel(pid, 120 + i % 40, 75 + i % 20, now)
            else:
                path, body = "/fhir", bundle_of_weights(pid, now)
            task = asyncio.create_task(soak.post(clients[pid], path, body))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            i += 1
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        await asyncio.gather(*tasks)
    finally:
        for client in clients.values():
            await client.aclose()


async def sample(soak: Soak, stop: asyncio.Event) -> None:
    while not stop.is_set():
        soak.samples.append((time.time(), tree_rss(soak.api.pid), tree_rss(soak.worker.pid)))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=5)


async def restarter(soak: Soak, every: float, stop: asyncio.Event) -> None:
    hard = True
    while True:
        try:
            await asyncio.wait_for(stop.wait(), timeout=every)
            return
        except TimeoutError:
            pass
        kind = "SIGKILL" if hard else "SIGTERM"
        print(f"  {time.strftime('%H:%M:%S')} worker restart ({kind})", flush=True)
        await asyncio.to_thread(soak.restart_worker, hard)
        hard = not hard


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


def outcome(soak: Soak) -> dict[str, Any]:
    stack = soak.stack
    ids = list(soak.sent)
    rows = stack.sql(
        "SELECT r.id, r.outbox_id, t.pathway_id, t.created FROM resource r "
        "LEFT JOIN triageresult t ON t.outbox_id = r.outbox_id WHERE r.id = ANY(:ids)",
        ids=ids,
    )
    per: dict[str, dict[str, int]] = {}
    first: dict[str, float] = {}
    for rid, _, pathway, created in rows:
        counts = per.setdefault(rid, {})
        if pathway is not None:
            counts[pathway] = counts.get(pathway, 0) + 1
            first[rid] = min(first.get(rid, created.timestamp()), created.timestamp())
    stored = len(per)
    lost = sum(1 for rid in ids if not per.get(rid))
    doubled = sum(1 for counts in per.values() if any(n > 1 for n in counts.values()))
    duplicates = stack.sql(
        "SELECT count(*) FROM (SELECT dedup_key FROM resource WHERE dedup_key IS NOT NULL "
        "GROUP BY resource_type, dedup_key HAVING count(*) > 1) d"
    )[0][0]
    open_items = stack.sql(
        "SELECT count(*), count(DISTINCT patient_id || '|' || pathway_id) FROM worklistitem "
        "WHERE status <> 'resolved'"
    )[0]
    not_done = stack.sql("SELECT count(*) FROM outbox WHERE done_at IS NULL")[0][0]
    resent = stack.sql("SELECT count(*) FROM outbox WHERE attempts > 0")[0][0]
    latencies = [first[rid] - soak.sent[rid] for rid in first]

    def near_kill(rid: str) -> bool:
        return any(0 <= soak.sent[rid] - k < 60 or 0 <= k - soak.sent[rid] < 30 for k in soak.kills)

    steady = [first[rid] - soak.sent[rid] for rid in first if not near_kill(rid)]
    return {
        "accepted": len(ids),
        "stored": stored,
        "triaged": len(first),
        "lost": lost,
        "doubled": doubled + duplicates,
        "open_items": open_items[0],
        "open_item_keys": open_items[1],
        "outbox_not_done": not_done,
        "resent_rows": resent,
        "max_ms": max(latencies) * 1000 if latencies else float("nan"),
        "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p95_ms": percentile(latencies, 0.95) * 1000 if latencies else float("nan"),
        "steady_p95_ms": percentile(steady, 0.95) * 1000 if steady else float("nan"),
    }


def memory(soak: Soak, warmup: float = 60.0) -> dict[str, float]:
    t0 = soak.samples[0][0]
    after = [s for s in soak.samples if s[0] - t0 >= warmup] or soak.samples
    half = after[len(after) // 2 :]
    mb = 1024 * 1024
    slope = 0.0
    if len(half) >= 2 and half[-1][0] > half[0][0]:
        xs = [s[0] for s in half]
        ys = [s[1] / mb for s in half]
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        var = sum((x - mx) ** 2 for x in xs)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var * 60
    peaks = [*soak.worker_peaks, max((s[2] for s in soak.samples), default=0)]
    return {
        "api_start_mb": after[0][1] / mb,
        "api_end_mb": after[-1][1] / mb,
        "api_max_mb": max(s[1] for s in soak.samples) / mb,
        "api_slope_mb_per_min": slope,
        "worker_end_mb": after[-1][2] / mb,
        "worker_max_mb": max(peaks) / mb,
        "worker_start_mb": after[0][2] / mb,
    }


async def drain(stack: Stack, limit: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if stack.sql("SELECT count(*) FROM outbox WHERE done_at IS NULL")[0][0] == 0:
            break
        await asyncio.sleep(2)
    return time.monotonic() - start


async def main_async(args: argparse.Namespace, soak: Soak) -> tuple[dict[str, Any], float]:
    from api.auth import create_token
    from runtime.settings import Settings

    stack = soak.stack
    author = stack.token("author")
    async with httpx.AsyncClient(
        base_url=stack.base, timeout=30, headers={"Authorization": f"Bearer {author}"}
    ) as client:
        patients = await make_patients(client, args.patients)
        for n, pid in enumerate(patients):
            pathway = "heart-failure" if n % 2 else "hypertension-home-bp"
            response = await client.post(
                f"/api/patients/{pid}/enrolments", json={"pathway": pathway, "thresholds": {}}
            )
            response.raise_for_status()
    settings = Settings(environment="development")  # the same secret as the stack's
    tokens = {pid: create_token(settings, role="patient", patient_id=pid) for pid in patients}
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample(soak, stop))
    restarts = asyncio.create_task(restarter(soak, args.restart_every, stop))
    began = time.monotonic()
    await load(soak, stack.base, tokens, args.minutes * 60, args.rate)
    elapsed = time.monotonic() - began
    stop.set()
    await asyncio.gather(sampler, restarts)
    drained = await drain(stack, 600)
    print(f"  outbox drained {drained:,.0f} s after the load stopped", flush=True)
    return outcome(soak), elapsed


def write(path: Path, text: str) -> None:
    begin, end = "<!-- soak:begin -->", "<!-- soak:end -->"
    current = path.read_text() if path.exists() else ""
    block = f"{begin}\n{text.rstrip()}\n{end}"
    if begin in current and end in current:
        current = re.sub(re.escape(begin) + r".*?" + re.escape(end), block, current, flags=re.S)
    else:
        current = current.rstrip() + "\n\n" + block + "\n"
    path.write_text(current)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=20.0, help="uploads per second")
    parser.add_argument("--restart-every", type=float, default=150.0, help="seconds")
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--write", type=Path, help="record the figures in this Markdown file")
    args = parser.parse_args()
    if not 0 < args.minutes <= 30:
        parser.error("--minutes must be more than 0 and at most 30 (a bounded soak)")

    os.environ.update(
        {
            # Fast recovery of what a SIGKILL leaves half-done: re-send every 5 s, and count a
            # dispatched row as lost after 45 s (the defaults are 30 s and 10 min).
            "OUTBOX_RESEND_SECONDS": "5",
            "OUTBOX_STALE_SECONDS": "45",
            "TRIAGE_RETRY_BASE_SECONDS": "0.5",
        }
    )
    stack = Stack(args.database_url, args.redis_url)
    # Realistic limits (bench/ingest.py turns them off to measure ingest alone).
    stack.env.update(RATE_LIMIT_PATIENT_PER_MINUTE="120", RATE_LIMIT_STAFF_PER_MINUTE="1200")
    stack.start()
    worker_command = list(stack.procs[1].args)  # type: ignore[arg-type]
    beat = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "worker.app",
            "beat",
            "--loglevel=WARNING",
            "-s",
            f"/tmp/soak-beat-{stack.schema}",
        ],
        env=stack.env,
        cwd=ROOT,
        stdout=stack.log,
        stderr=stack.log,
    )
    stack.procs.append(beat)
    soak = Soak(stack, worker_command)
    print(
        f"soak: {args.minutes:g} min at {args.rate:g} uploads/s from {args.patients} patients, "
        f"worker restarted every {args.restart_every:g} s (log: {stack.log.name})",
        flush=True,
    )
    try:
        figures, elapsed = asyncio.run(main_async(args, soak))
    finally:
        stack.stop()
    mem = memory(soak)
    lines = [
        f"- load: {elapsed / 60:.1f} min, {soak.uploads:,} uploads accepted "
        f"({soak.uploads / elapsed:.1f}/s), {soak.resent:,} sent again after a 503/429/drop, "
        f"{soak.refused} refused; worker restarts: {soak.restarts} "
        f"({len(soak.kills)} with SIGKILL)",
        f"- resources: {figures['accepted']:,} accepted, {figures['stored']:,} stored, "
        f"{figures['triaged']:,} triaged, **lost {figures['lost']}, "
        f"doubled {figures['doubled']}**; outbox rows not done: {figures['outbox_not_done']}; "
        f"open worklist items {figures['open_items']} for {figures['open_item_keys']} "
        f"patient+pathway pairs",
        f"- API memory (2 uvicorn processes + parent): {mem['api_start_mb']:.0f} MB after "
        f"warm-up, {mem['api_end_mb']:.0f} MB at the end, {mem['api_max_mb']:.0f} MB at most; "
        f"growth over the second half {mem['api_slope_mb_per_min']:+.2f} MB/min",
        f"- worker memory (main + 1 pool process): {mem['worker_start_mb']:.0f} MB after "
        f"warm-up, {mem['worker_end_mb']:.0f} MB at the end, {mem['worker_max_mb']:.0f} MB at "
        f"most over all its lives",
        f"- POST to worklist: median {figures['p50_ms']:,.0f} ms, p95 {figures['p95_ms']:,.0f} ms "
        f"over all posts; p95 {figures['steady_p95_ms']:,.0f} ms leaving out posts sent in the "
        f"30 s before to 60 s after a SIGKILL (those wait for the re-send); the slowest "
        f"{figures['max_ms'] / 1000:,.1f} s; outbox rows the periodic re-send handed over again "
        f"(their task died with a worker): {figures['resent_rows']}",
    ]
    print("\n".join(lines))
    if args.write:
        machine = (
            f"{os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{time.strftime('%Y-%m-%d')}"
        )
        write(
            args.write,
            f"## Soak (issue 5): `make bench-soak` (= `.venv/bin/python bench/soak.py "
            f"--minutes {args.minutes:g} --rate {args.rate:g} --restart-every "
            f"{args.restart_every:g}`)\n\nMachine: {machine}; PostgreSQL and Redis on the same "
            f"machine.\n\n" + "\n".join(lines),
        )
        print(f"written to {args.write}")
    ok = figures["lost"] == 0 and figures["doubled"] == 0 and figures["outbox_not_done"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
