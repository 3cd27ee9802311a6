"""The exact count after a fault: every accepted resource has exactly one triage result per
pathway that reads it, every patient with data has exactly one open worklist item per
pathway at the level its newest data gives, every outbox row is done, nothing is stored twice.

How results name their uploads (worker/jobs.py): a job triages its outbox row together with
the patient's other waiting rows, and writes one ``TriageResult`` per (row, pathway) that
read data of that row, ``task_key`` ``"{outbox}:{pathway}"`` (UNIQUE); its ``sources`` list
every resource the pathway read in that job. So a resource is triaged by a pathway when
exactly one result of its own outbox row and that pathway names it in ``sources``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlmodel import select

from fhir_adapters import (
    flatten_response,
    observation_measurements,
    parse_resource,
    response_questionnaire_url,
)
from store.db import session_scope
from store.models import Outbox, Resource, TriageResult, WorklistItem
from store.pathways import compiled, current_pathways, version_row
from tests.faults.app import Accepted, Ledger
from triage import Level, Measurement, Pathway, evaluate
from triage.engine import FUTURE_TOLERANCE

RESULTS: list[Tally] = []  # one row per fault, printed at the end of the session


@dataclass
class Tally:
    fault: str
    accepted: int = 0
    triaged: int = 0
    lost: int = 0
    doubled: int = 0
    refused: int = 0
    resent: int = 0  # requests the apps sent again (429, 5xx, connection errors)
    items: str = ""
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def check(self) -> None:
        """What every fault test asserts: nothing lost, nothing doubled, all else right."""
        detail = "\n".join(self.problems[:20])
        assert (self.lost, self.doubled) == (0, 0), f"{self}\n{detail}"
        assert self.triaged == self.accepted, f"{self}\n{detail}"
        assert not self.problems, f"{self.fault}:\n{detail}"

    def __str__(self) -> str:
        return (
            f"{self.fault}: accepted {self.accepted}, triaged {self.triaged}, lost {self.lost}, "
            f"doubled {self.doubled}, refused {self.refused}, items {self.items}"
        )


def outbox_state(patient_ids: list[str]) -> tuple[int, int]:
    """(rows, rows done) of these patients' outbox."""
    with session_scope() as session:
        rows = session.exec(
            select(func.count(), func.count(Outbox.done_at)).where(
                Outbox.patient_id.in_(patient_ids)  # type: ignore[attr-defined]
            )
        ).one()
    return int(rows[0]), int(rows[1])


def wait_quiet(patient_ids: list[str], timeout: float = 90.0) -> None:
    """Wait until every outbox row of these patients is done; fail with the count if not."""
    deadline = time.monotonic() + timeout
    state = (0, 0)
    while time.monotonic() < deadline:
        try:
            state = outbox_state(patient_ids)
        except Exception:  # the database may be restarting
            state = (-1, -1)
        if state[0] > 0 and state[0] == state[1]:
            return
        time.sleep(0.5)
    raise AssertionError(f"after {timeout:.0f} s, {state[1]} of {state[0]} outbox rows done")


def readers(accepted: Accepted, enrolled: set[str], pathways: dict[str, Pathway]) -> set[str]:
    """The pathways that triage this resource (worker/evaluation.py, Routing.per_pathway)."""
    if accepted.rtype == "QuestionnaireResponse":
        url = response_questionnaire_url(parse_resource(accepted.body)) or ""  # type: ignore[arg-type]
        found = {pid for pid, p in pathways.items() if p.reads_questionnaire(url)}
    else:
        measured = _measurements(accepted)
        found = {
            pid
            for pid, p in pathways.items()
            if any(p.route_for(m.code, m.panel) for m in measured)
        }
    return (found & enrolled) or found


def _measurements(accepted: Accepted) -> list[Measurement]:
    data = observation_measurements(parse_resource(accepted.body, "Observation"))
    return list(data.measurements)


def expected_level(pathway: Pathway, data: list[Accepted], now: dt.datetime) -> Level:
    """The level the patient's newest data gives with ``pathway``, by the pure engine.

    Answers: the newest response not dated in the future; readings: all that the pathway
    routes (the engine itself sets aside those dated in the future and outside windows).
    A response dated in the future is flagged (at least yellow), never used.
    """
    limit = now + FUTURE_TOLERANCE
    responses = []
    for item in data:
        if item.rtype != "QuestionnaireResponse":
            continue
        parsed = parse_resource(item.body, "QuestionnaireResponse")
        url = response_questionnaire_url(parsed) or ""
        if pathway.reads_questionnaire(url):
            responses.append((dt.datetime.fromisoformat(item.body["authored"]), parsed))
    usable = sorted((r for r in responses if r[0] <= limit), key=lambda r: r[0])
    answers = dict(flatten_response(usable[-1][1])) if usable else {}
    measurements = [
        m
        for item in data
        if item.rtype == "Observation"
        for m in _measurements(item)
        if pathway.route_for(m.code, m.panel) is not None
    ]
    level = evaluate(pathway, answers=answers, measurements=measurements, now=now).level
    if any(when > limit for when, _ in responses):
        level = max(level, Level.YELLOW)
    return level


def count(fault: str, ledger: Ledger, enrolled: dict[str, set[str]], started: float) -> Tally:
    """The exact count for the patients in ``enrolled``; recorded for the summary table."""
    tally = Tally(fault, accepted=len(ledger.accepted), refused=len(ledger.refused))
    tally.resent = sum(ledger.retries.values())
    pids = list(enrolled)
    now = dt.datetime.now(dt.UTC)
    with session_scope() as session:
        pathways = current_pathways(session)
        stored = {
            r.id: r
            for r in session.exec(
                select(Resource).where(
                    Resource.patient_id.in_(pids),  # type: ignore[attr-defined]
                    Resource.resource_type.in_(["QuestionnaireResponse", "Observation"]),  # type: ignore[attr-defined]
                )
            )
        }
        boxes = list(session.exec(select(Outbox).where(Outbox.patient_id.in_(pids))))  # type: ignore[attr-defined]
        results = list(
            session.exec(select(TriageResult).where(TriageResult.patient_id.in_(pids)))  # type: ignore[attr-defined]
        )
        items = list(
            session.exec(
                select(WorklistItem).where(
                    WorklistItem.patient_id.in_(pids),  # type: ignore[attr-defined]
                    WorklistItem.open_key != None,  # noqa: E711 (SQL)
                )
            )
        )
        by_version = {
            (r.pathway_id, r.version): compiled(row)
            for r in results
            if (row := version_row(session, r.pathway_id, r.version)) is not None
        }
    per_task: dict[tuple[int | None, str], list[TriageResult]] = defaultdict(list)
    for result in results:
        per_task[(result.outbox_id, result.pathway_id)].append(result)

    # Nothing stored twice: one Resource row per accepted identifier, no row not accepted.
    accepted_ids = {a.resource_id for a in ledger.accepted.values()}
    extra = set(stored) - accepted_ids
    if extra:
        tally.problems.append(f"{len(extra)} resources stored that no answer accepted")
        tally.doubled += len(extra)
    for box in boxes:
        if box.done_at is None or box.failed:
            tally.problems.append(f"outbox {box.id}: done {box.done_at}, failed {box.failed}")

    wanted: dict[tuple[str, str], list[Accepted]] = defaultdict(list)
    for accepted in ledger.accepted.values():
        row = stored.get(accepted.resource_id)
        if row is None:
            tally.lost += 1
            tally.problems.append(f"{accepted.resource_id} accepted but not stored")
            continue
        counts = []
        for pathway_id in sorted(readers(accepted, enrolled[accepted.patient_id], pathways)):
            wanted[(accepted.patient_id, pathway_id)] = ledger.of(accepted.patient_id)
            naming = [
                r
                for r in per_task.get((row.outbox_id, pathway_id), [])
                if any(s.get("id") == row.id for s in r.sources)
            ]
            counts.append(len(naming))
        if counts and all(n == 1 for n in counts):
            tally.triaged += 1
        elif any(n > 1 for n in counts):
            tally.doubled += 1
            tally.problems.append(f"{row.id} (outbox {row.outbox_id}): results {counts}")
        else:
            tally.lost += 1
            tally.problems.append(f"{row.id} (outbox {row.outbox_id}): results {counts or [0]}")

    # The worklist: one open item per patient and pathway with data, at the right level.
    open_items: dict[tuple[str, str], list[WorklistItem]] = defaultdict(list)
    for item in items:
        open_items[(item.patient_id, item.pathway_id)].append(item)
    right = 0
    for key, data in sorted(wanted.items()):
        found = open_items.get(key, [])
        if len(found) != 1:
            tally.problems.append(f"{key}: {len(found)} open items")
            continue
        item = found[0]
        ruleset: dict[str, Any] = item.ruleset or {}
        pathway = by_version.get((key[1], ruleset.get("version", -1)))
        if pathway is None or pathway.sha256 != ruleset.get("sha256"):
            tally.problems.append(f"{key}: item names no published version: {ruleset}")
            continue
        want = expected_level(pathway, data, now)
        if (item.level, item.kind) != (want.label, "triage"):
            tally.problems.append(
                f"{key}: item {item.level}/{item.kind}, newest data gives {want.label} "
                f"(version {pathway.version})"
            )
            continue
        right += 1
    for key in set(open_items) - set(wanted):
        tally.problems.append(f"{key}: an open item no data asked for")
    tally.items = f"{right}/{len(wanted)}"
    tally.seconds = time.monotonic() - started
    RESULTS.append(tally)
    return tally
