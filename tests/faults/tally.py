"""The exact count after a fault: every accepted resource has exactly one triage result per
pathway that reads it, judged as of its own time at the level the pure engine gives; every
patient with data has exactly one open worklist item per pathway, holding the worst of its
results (no clinician acts in these tests) with the newest data's result beside it; every
outbox row is done; nothing is stored twice.

How results name their uploads (usecases/judging/job.py): one ``TriageResult`` per upload and
pathway, ``resource_id`` the upload, ``task_key`` ``"{outbox}:{resource}:{pathway}"``
(UNIQUE); a new pathway version adds ``rejudge`` results (the newest data judged again).
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
from triage import Level, Measurement, Pathway, evaluate_at, prepare
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
    """The pathways that triage this resource (Routing.per_pathway in
    usecases/judging/evaluation.py)."""
    if accepted.rtype == "QuestionnaireResponse":
        url = response_questionnaire_url(parse_resource(accepted.body)) or ""  # type: ignore[arg-type]
        found = {pid for pid, p in pathways.items() if p.reads_questionnaire(url)}
    else:
        measured = _measurements(accepted)
        found = {pid for pid, p in pathways.items() if any(p.route_of(m) for m in measured)}
    return (found & enrolled) or found


def _measurements(accepted: Accepted) -> list[Measurement]:
    data = observation_measurements(parse_resource(accepted.body, "Observation"))
    return list(data.measurements)


def own_time(accepted: Accepted) -> dt.datetime:
    """The time an upload is judged as of: ``authored``, or the reading's time."""
    if accepted.rtype == "QuestionnaireResponse":
        return dt.datetime.fromisoformat(accepted.body["authored"])
    return max(m.time for m in _measurements(accepted))


def expected_level(
    pathway: Pathway,
    data: list[Accepted],
    as_of: dt.datetime,
    own: Accepted | None,
    arrived: dt.datetime | None,
) -> Level:
    """The level the pure engine gives as of ``as_of`` (RULES.md "When"): the answers of
    ``own`` when it is a response, else of the newest response at or before ``as_of``; the
    readings at or before ``as_of``. Data dated ahead of its arrival is flagged yellow."""
    responses = []
    for item in data:
        if item.rtype != "QuestionnaireResponse":
            continue
        parsed = parse_resource(item.body, "QuestionnaireResponse")
        url = response_questionnaire_url(parsed) or ""
        if pathway.reads_questionnaire(url) and own_time(item) <= as_of:
            responses.append((own_time(item), item.identifier, parsed))
    if own is not None and own.rtype == "QuestionnaireResponse":
        responses = [r for r in responses if r[1] == own.identifier]
    answers = dict(flatten_response(max(responses, key=lambda r: r[0])[2])) if responses else {}
    # An upload is judged on its own value when another reading shares its time.
    ordered = sorted(data, key=lambda item: own is not None and item.identifier == own.identifier)
    measurements = [
        m
        for item in ordered
        if item.rtype == "Observation"
        for m in _measurements(item)
        if pathway.route_of(m) is not None and m.time <= as_of
    ]
    result = evaluate_at(
        pathway, prepare(pathway, measurements=measurements), as_of=as_of, answers=answers
    )
    level = result.level
    if arrived is not None and as_of > arrived + FUTURE_TOLERANCE:
        level = max(level, Level.YELLOW)
    return level


def count(fault: str, ledger: Ledger, enrolled: dict[str, set[str]], started: float) -> Tally:
    """The exact count for the patients in ``enrolled``; recorded for the summary table."""
    tally = Tally(fault, accepted=len(ledger.accepted), refused=len(ledger.refused))
    tally.resent = sum(ledger.retries.values())
    pids = list(enrolled)
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
    per_upload: dict[tuple[str | None, str], list[TriageResult]] = defaultdict(list)
    for result in results:
        if result.kind == "upload":
            per_upload[(result.resource_id, result.pathway_id)].append(result)

    # Nothing stored twice: one Resource row per accepted identifier, no row not accepted.
    accepted_ids = {a.resource_id for a in ledger.accepted.values()}
    by_id = {a.resource_id: a for a in ledger.accepted.values()}
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
            counts.append(len(per_upload.get((row.id, pathway_id), [])))
        if counts and all(n == 1 for n in counts):
            tally.triaged += 1
        elif any(n > 1 for n in counts):
            tally.doubled += 1
            tally.problems.append(f"{row.id} (outbox {row.outbox_id}): results {counts}")
        else:
            tally.lost += 1
            tally.problems.append(f"{row.id} (outbox {row.outbox_id}): results {counts or [0]}")

    # Every result: the level the pure engine gives as of the time it was judged, with the
    # version that made it; an upload's result is of its own time.
    for result in results:
        pathway = by_version.get((result.pathway_id, result.version))
        if pathway is None or pathway.sha256 != result.sha256:
            tally.problems.append(f"result {result.id} names no published version")
            continue
        own = by_id.get(result.resource_id or "")
        row = stored.get(result.resource_id or "")
        if result.kind == "upload" and (own is None or result.data_time != own_time(own)):
            tally.problems.append(f"result {result.id} is not of its upload's own time")
            continue
        assert result.data_time is not None
        arrived = row.received_at if row is not None else None
        # What was stored when the job judged (a reading arriving later was not there yet).
        # The API stamps ``received_at`` before its commit and the job takes its time before
        # its reads, so an upload stamped a moment after the job's time can still be
        # committed before the job reads: the result names it among its sources then.
        named = {source.get("id") for source in result.sources or []}
        data = [
            a
            for a in ledger.of(result.patient_id)
            if a.resource_id in stored
            and (stored[a.resource_id].received_at <= result.created or a.resource_id in named)
        ]
        want = expected_level(pathway, data, result.data_time, own, arrived)
        if result.level != want.label:
            tally.problems.append(
                f"result {result.id} ({result.kind}): {result.level}, the engine gives "
                f"{want.label} (version {pathway.version})"
            )

    # The worklist: one open item per patient and pathway with data, holding the worst of
    # its results, with the newest data's result beside it.
    open_items: dict[tuple[str, str], list[WorklistItem]] = defaultdict(list)
    for item in items:
        open_items[(item.patient_id, item.pathway_id)].append(item)
    by_pair: dict[tuple[str, str], list[TriageResult]] = defaultdict(list)
    for result in results:
        by_pair[(result.patient_id, result.pathway_id)].append(result)
    right = 0
    for key in sorted(wanted):
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
        mine = by_pair[key]
        worst = max((Level.parse(r.level) for r in mine), default=None)
        newest = max(mine, key=lambda r: (_shown(r, stored), r.created))
        if worst is None or (item.level, item.kind) != (worst.label, "triage"):
            tally.problems.append(
                f"{key}: item {item.level}/{item.kind}, its results' worst is "
                f"{worst.label if worst else None}"
            )
            continue
        if item.newest is None or item.newest["result"] != newest.id:
            tally.problems.append(f"{key}: newest {item.newest}, not result {newest.id}")
            continue
        right += 1
    for key in set(open_items) - set(wanted):
        tally.problems.append(f"{key}: an open item no data asked for")
    tally.items = f"{right}/{len(wanted)}"
    tally.seconds = time.monotonic() - started
    RESULTS.append(tally)
    return tally


def _shown(result: TriageResult, stored: dict[str, Resource]) -> dt.datetime:
    """The time the worklist orders a result by: its data's, never later than it arrived."""
    assert result.data_time is not None
    row = stored.get(result.resource_id or "")
    return min(result.data_time, row.received_at) if row is not None else result.data_time
