"""The worker's job for a phone that uploads a day of CGM readings at once, on PostgreSQL.

    .venv/bin/python bench/burst.py [--runs 5] [--database-url URL]

A patient enrolled in rules/diabetes-cgm.yaml (glucose, LOINC 2339-0, in mg/dL) with 14 days
of 5-minute readings already
judged; then one transaction Bundle of 288 readings (the next day). Prints the time of
the one worker job that judges every reading as of its own time (RULES.md "When"),
stores 288 results and puts them on the worklist: the whole job, database included, in
this process (no broker), median over ``--runs`` patients. ``bench/engine.py`` prints the
engine's part alone. A fresh PostgreSQL schema, dropped at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from schema import bench_schema


def cgm(patient_id: str, mg_dl: float, at: dt.datetime) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "identifier": [{"system": "urn:bench:burst", "value": uuid.uuid4().hex}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": at.isoformat(),
        "valueQuantity": {
            "value": mg_dl,
            "unit": "mg/dL",
            "system": "http://unitsofmeasure.org",
            "code": "mg/dL",
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with bench_schema(args.database_url, "bench_burst"):
        timings = run(args.runs)
    print(
        f"worker job for a 288-reading CGM Bundle over 14 days of history: median "
        f"{statistics.median(timings) * 1000:.0f} ms (runs: "
        f"{', '.join(f'{t * 1000:.0f}' for t in timings)} ms)"
    )


def run(runs: int) -> list[float]:
    from sqlmodel import Session

    import usecases.ingest.upload
    from runtime.settings import get_settings
    from store.db import get_engine, migrate, session_scope
    from store.models import Enrolment, Patient
    from usecases.ingest.checks import Context
    from usecases.ingest.prepare import Caller, prepare
    from usecases.ingest.upload import store_entries
    from usecases.judging import job as jobs
    from usecases.publishing import sync_rules_dir

    usecases.ingest.upload.dispatch_after_commit = lambda *_: (
        None
    )  # this process runs every job itself
    migrate()
    with session_scope() as session:
        sync_rules_dir(session, get_settings().rules_dir)

    def upload(bodies: list[dict[str, Any]]) -> list[int]:
        with Session(get_engine(), expire_on_commit=False) as session:
            context = Context(session)
            entries = [prepare(context, b, "Observation", Caller()) for b in bodies]
            boxes = store_entries(session, entries, None)
            session.commit()
        return boxes

    timings = []
    for _ in range(runs):
        patient = f"p-{uuid.uuid4().hex}"
        with session_scope() as session:
            session.add(Patient(id=patient, resource={"resourceType": "Patient"}))
            session.flush()
            session.add(Enrolment(patient_id=patient, pathway_id="diabetes-cgm", thresholds={}))
        start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=15)
        for day in range(14):  # the history, one day a Bundle, judged as it came
            at = [start + dt.timedelta(days=day, minutes=5 * i) for i in range(288)]
            for box in upload([cgm(patient, 100 + i % 50, t) for i, t in enumerate(at)]):
                jobs.triage_outbox(box)
        at = [start + dt.timedelta(days=14, minutes=5 * i) for i in range(288)]
        (box,) = upload([cgm(patient, 60 + i % 120, t) for i, t in enumerate(at)])
        began = time.perf_counter()
        if os.environ.get("BURST_PROFILE"):
            import cProfile
            import pstats

            profile = cProfile.Profile()
            profile.runcall(jobs.triage_outbox, box)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
        else:
            jobs.triage_outbox(box)
        timings.append(time.perf_counter() - began)
        with session_scope() as session:
            judged = session.execute(
                sa.text("SELECT count(*) FROM triageresult WHERE outbox_id = :box"), {"box": box}
            ).scalar_one()
        assert judged == 288, f"{judged} results for the burst, not 288"
    return timings


if __name__ == "__main__":
    main()
