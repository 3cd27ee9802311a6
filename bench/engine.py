"""Speed of the pathway engine: prints the figures that go into BENCHMARKS.md.

    .venv/bin/python bench/engine.py            (or: make bench)

1. Questionnaire results per second for the epilepsy pathway, one core, parsing excluded
   (target: at least 20,000/s).
2. Time to evaluate the CGM pathway over 14 days of 5-minute readings, 4,032 readings
   (target: under 5 ms).
3. As-of judging of a burst of 288 CGM readings (one every 5 minutes, one day) that a
   phone uploads at once, on top of 14 days of history: ``prepare`` once over all 4,320
   readings, then one ``evaluate_at`` per new reading, as of its own time (target: under
   100 ms in total).
4. FHIR QuestionnaireResponse parse + validate + flatten per second.

Each figure is the median of several timed rounds after a warm-up, so one busy moment
on the machine does not decide it. This is a benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fhir_adapters import flatten_response, parse_json, parse_resource, warm_up  # noqa: E402
from triage import Reading, evaluate, evaluate_at, load_pathway, prepare  # noqa: E402

RULES = ROOT / "rules"
SAMPLE_QR = ROOT.parent / "shared" / "contract" / "fhir" / "QuestionnaireResponse-epilepsy-red.json"


def rounds(fn: Callable[[], None], count: int, repeat: int = 7) -> list[float]:
    """Seconds per call, for each of ``repeat`` rounds of ``count`` calls."""
    fn()
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(count):
            fn()
        out.append((time.perf_counter() - start) / count)
    return out


def epilepsy_per_second() -> float:
    pathway = load_pathway(RULES / "epilepsy.yaml")
    rng = random.Random(7)
    cases = [
        {
            "seizure-count": rng.randint(0, 6),
            "new-seizure-type": rng.random() < 0.1,
            "side-effects": rng.choice(["none", "none", "mild", "severe"]),
            "wants-contact": rng.random() < 0.2,
        }
        for _ in range(1000)
    ]
    now = dt.datetime.now(dt.UTC)
    index = iter(range(10**9))

    def one() -> None:
        evaluate(pathway, answers=cases[next(index) % 1000], now=now)

    return 1 / statistics.median(rounds(one, 20_000))


def cgm_milliseconds() -> float:
    pathway = load_pathway(RULES / "diabetes-cgm.yaml")
    rng = random.Random(11)
    now = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
    readings = [
        Reading(
            "glucose", round(rng.gauss(7.5, 2.2), 1), "mmol/L", now - dt.timedelta(minutes=5 * i)
        )
        for i in range(4032)
    ]
    assert len(readings) == 4032

    def one() -> None:
        evaluate(pathway, readings=readings, now=now)

    return 1000 * statistics.median(rounds(one, 50))


def cgm_burst_milliseconds() -> float:
    pathway = load_pathway(RULES / "diabetes-cgm.yaml")
    rng = random.Random(13)
    start = dt.datetime(2026, 11, 6, 8, 0, tzinfo=dt.UTC)
    every = dt.timedelta(minutes=5)
    history = [
        Reading("glucose", round(rng.gauss(7.5, 2.2), 1), "mmol/L", start + i * every)
        for i in range(4032)
    ]
    burst = [
        Reading("glucose", round(rng.gauss(7.5, 2.2), 1), "mmol/L", start + i * every)
        for i in range(4032, 4032 + 288)
    ]
    readings = history + burst
    evaluated_at = burst[-1].time + dt.timedelta(minutes=1)

    def one() -> None:
        prepared = prepare(pathway, readings=readings)
        for reading in burst:
            evaluate_at(pathway, prepared, as_of=reading.time, evaluated_at=evaluated_at)

    return 1000 * statistics.median(rounds(one, 5))


def fhir_per_second() -> float:
    text = SAMPLE_QR.read_text(encoding="utf-8").replace("{patient-id}", "p-1")
    body = text.encode()
    warm_up()

    def one() -> None:
        flatten_response(parse_resource(parse_json(body), "QuestionnaireResponse"))

    return 1 / statistics.median(rounds(one, 2_000))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    print(f"machine: {machine()}")
    epi = epilepsy_per_second()
    print(f"epilepsy questionnaire results per second (one core): {epi:,.0f}  (target >= 20,000)")
    cgm = cgm_milliseconds()
    print(f"CGM pathway over 4,032 readings (14 days x 5 min): {cgm:.2f} ms  (target < 5 ms)")
    burst = cgm_burst_milliseconds()
    print(
        "as-of judging of a 288-reading CGM burst (prepare + 288 evaluate_at, "
        f"14 days of history): {burst:.1f} ms  (target < 100 ms)"
    )
    fhir = fhir_per_second()
    print(f"FHIR QuestionnaireResponse parse + validate + flatten per second: {fhir:,.0f}")
    if "--json" in sys.argv:
        figures = {"epilepsy_per_s": epi, "cgm_ms": cgm, "cgm_burst_ms": burst}
        print(json.dumps({**figures, "fhir_qr_per_s": fhir}))


if __name__ == "__main__":
    main()
