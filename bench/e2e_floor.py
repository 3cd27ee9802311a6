"""The floor bench/e2e.py compares the whole path's CPU with: what one upload cannot cost
less than, measured in this process as CPU seconds per call. ``parse + validate``: the
JSON of a weight Observation read and validated with ``fhir.resources`` (as ingest does);
``engine``: one evaluation of the heart-failure pathway as of the reading's time, with the
patient's last three days of weights (the window its rule reads)."""

from __future__ import annotations

import datetime as dt
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from ingest import ROOT, weight

from fhir_adapters import parse_json, parse_resource, warm_up
from triage import Reading, evaluate, load_pathway


def _cpu_per_call(fn: Callable[[], object], count: int, rounds: int = 5) -> float:
    fn()
    out = []
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(count):
            fn()
        out.append((time.process_time() - start) / count)
    return statistics.median(out)


def floor_seconds() -> dict[str, float]:
    warm_up()
    now = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
    body = json.dumps(weight("p-1", 81.2, now)).encode()
    pathway = load_pathway(Path(ROOT) / "rules" / "heart-failure.yaml")
    readings = [
        Reading("weight", 80 + k / 10, "kg", now - dt.timedelta(hours=8 * k)) for k in range(10)
    ]
    return {
        "parse + validate": _cpu_per_call(
            lambda: parse_resource(parse_json(body), "Observation"), 2000
        ),
        "engine": _cpu_per_call(lambda: evaluate(pathway, readings=readings, now=now), 2000),
    }


if __name__ == "__main__":
    print({k: f"{v * 1e6:.0f} us" for k, v in floor_seconds().items()})
