"""The work the triage task wraps: one outbox row triaged, saved and put on the worklist.

Everything for one outbox row happens in ONE transaction: the results, the worklist
changes, ``Resource.routed`` and ``Outbox.done_at``. Running a row twice changes nothing
(a done row returns at once; ``TriageResult.task_key`` is UNIQUE), and a collision with a
concurrent job (the UNIQUE ``open_key``) rolls back and runs the row again.

Which pathways read an upload: a QuestionnaireResponse goes to the pathways that read its
questionnaire, an Observation to those that route one of its codes. When the patient is
enrolled in some of those pathways, only those triage it; when in none, all of them do
(with the defaults, noted in the result): nothing accepted vanishes, and a blood pressure
of a patient followed for hypertension does not also land on the heart-failure list.
Logs carry ids only, never patient data.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from store.db import session_scope
from store.models import Enrolment, Outbox, Resource, TriageResult, new_id
from store.pathways import compiled, latest_rows
from store.settings import get_settings
from triage import Level, Pathway
from triage.worklist import due_time, failed_text
from worker import items
from worker.evaluation import PathwayData, evaluate_pathway, routes_of

log = logging.getLogger(__name__)
T = TypeVar("T")
CONFLICT_TRIES = 5


class MissingData(RuntimeError):
    """An outbox row names data that is not in the database."""


def with_conflict_retry(work: Callable[[Session], T]) -> T:
    """Run ``work`` in a transaction; on a UNIQUE collision roll back and run it again."""
    for attempt in range(1, CONFLICT_TRIES + 1):
        try:
            with session_scope() as session:
                return work(session)
        except IntegrityError:
            if attempt == CONFLICT_TRIES:
                raise
            log.info("unique collision; running the transaction again (%d)", attempt)
            time.sleep(0.01 * attempt)
    raise AssertionError("unreachable")


def triage_outbox(outbox_id: int, attempt: int = 0) -> str:
    """Triage one outbox row; return ``done``, or ``already-done`` for a row done before."""
    return with_conflict_retry(lambda session: _triage(session, outbox_id, attempt))


def _load(session: Session, outbox_id: int) -> tuple[Outbox, list[Resource]]:
    outbox = session.get(Outbox, outbox_id, with_for_update=True)
    if outbox is None:
        raise MissingData(f"outbox row {outbox_id} does not exist")
    wanted = list(dict.fromkeys(outbox.resource_ids))
    found = session.exec(select(Resource).where(Resource.id.in_(wanted))).all()  # type: ignore[attr-defined]
    by_id = {resource.id: resource for resource in found}
    if len(by_id) != len(wanted):
        raise MissingData(f"outbox row {outbox_id}: {len(wanted) - len(by_id)} resources missing")
    return outbox, [by_id[rid] for rid in wanted]


def _triage(session: Session, outbox_id: int, attempt: int) -> str:
    outbox, resources = _load(session, outbox_id)
    if outbox.done_at is not None:
        return "already-done"
    now = dt.datetime.now(dt.UTC)
    pathways = {row.pathway_id: (row, compiled(row)) for row in latest_rows(session)}
    enrolments = {
        e.pathway_id: e
        for e in session.exec(
            select(Enrolment).where(
                Enrolment.patient_id == outbox.patient_id,
                Enrolment.active == True,  # noqa: E712 (SQL, not Python)
            )
        )
    }
    routing = routes_of(session, resources, {pid: p for pid, (_, p) in pathways.items()})
    for resource in resources:
        if resource.resource_type in ("QuestionnaireResponse", "Observation"):
            resource.routed = bool(routing.readers.get(resource.id))
            session.add(resource)
    for pathway_id, work in sorted(routing.per_pathway(set(enrolments)).items()):
        row, pathway = pathways[pathway_id]
        enrolment = enrolments.get(pathway_id)
        data = PathwayData(
            patient_id=outbox.patient_id,
            resources=work.resources,
            extra_reasons=work.extra_reasons,
            thresholds=enrolment.thresholds if enrolment is not None else None,
        )
        outcome = evaluate_pathway(session, pathway, data, now)
        data_time = max(
            (r.data_time or r.received_at for r in work.resources), default=outbox.created
        )
        result = TriageResult(
            id=new_id("r"),
            task_key=f"{outbox_id}:{pathway_id}",
            outbox_id=outbox_id,
            patient_id=outbox.patient_id,
            pathway_id=pathway_id,
            version=row.version,
            sha256=row.sha256,
            level=outcome.level.label,
            result=outcome.record,
            sources=outcome.sources,
            data_time=data_time,
            created=now,
        )
        session.add(result)
        session.flush()  # a second run of this row stops here (UNIQUE task_key)
        items.apply_result(
            session,
            patient_id=outbox.patient_id,
            pathway_id=pathway_id,
            level=outcome.level,
            reasons=outcome.record["reasons"],
            action=outcome.record["action"],
            due=due_time(outcome.level, outcome.action, data_time),
            sources=outcome.sources,
            ruleset=outcome.record["ruleset"],
            result_id=result.id,
            data_time=data_time,
            now=now,
        )
    outbox.done_at = now
    session.add(outbox)
    _test_pause(outbox_id)
    log.info("outbox %s triaged (attempt %d)", outbox_id, attempt + 1)
    return "done"


def _test_pause(outbox_id: int) -> None:
    """Test-only hook: with ENVIRONMENT=test and TRIAGE_TEST_PAUSE_SECONDS set, hold the
    transaction open before the commit, so a test can kill the worker halfway through."""
    seconds = os.environ.get("TRIAGE_TEST_PAUSE_SECONDS")
    if seconds and get_settings().environment == "test":
        log.warning("test pause before committing outbox %s", outbox_id)
        time.sleep(float(seconds))


def describe_error(exc: BaseException) -> str:
    """A key of ``triage.worklist.FAILURES``: never the message, which may quote patient data."""
    return "missing-data" if isinstance(exc, MissingData) else "internal"


def record_failure(outbox_id: int, why: str, attempts: int, error: str = "") -> list[str]:
    """Show a row that could not be triaged: yellow "could not be triaged" per pathway.

    ``why`` is a key of ``triage.worklist.FAILURES`` (the words shown), ``error`` an
    exception type for ``Outbox.last_error``: neither carries patient data. The pathways
    are those that read the upload, else those the patient is enrolled in, else
    ``unknown``. Returns the item ids; a row already done changes nothing.
    """
    return with_conflict_retry(
        lambda session: _record_failure(session, outbox_id, why, attempts, error)
    )


def _record_failure(
    session: Session, outbox_id: int, why: str, attempts: int, error: str
) -> list[str]:
    outbox = session.get(Outbox, outbox_id, with_for_update=True)
    if outbox is None or outbox.done_at is not None:
        return []
    now = dt.datetime.now(dt.UTC)
    outbox.failed = True
    outbox.last_error = f"{why}: {error} (after {attempts} attempts)"
    outbox.attempts = max(outbox.attempts, attempts)
    outbox.done_at = now
    session.add(outbox)
    pathways = {row.pathway_id: compiled(row) for row in latest_rows(session)}
    targets = _failure_pathways(session, outbox, pathways)
    sources = [{"resourceType": "Outbox", "id": str(outbox_id)}]
    made = []
    for pathway_id in targets:
        pathway = pathways.get(pathway_id)
        language = pathway.language if pathway is not None else "nb"
        reason = {
            "rule": None,
            "level": Level.YELLOW.label,
            "text": failed_text(why, language),
            "kind": "failed",
            "key": f"failed:{outbox_id}",
        }
        item = items.apply_problem(
            session,
            patient_id=outbox.patient_id,
            pathway_id=pathway_id,
            kind="failed",
            reason=reason,
            due=due_time(Level.YELLOW, None, now),
            now=now,
            sources=sources,
        )
        if item is not None:
            made.append(item.id)
    log.warning("outbox %s marked failed on %d worklist(s)", outbox_id, len(made))
    return made


def _failure_pathways(session: Session, outbox: Outbox, pathways: dict[str, Pathway]) -> list[str]:
    try:
        with session.begin_nested():  # a savepoint: a failure here must not spoil the rest
            query = select(Resource).where(Resource.id.in_(outbox.resource_ids))  # type: ignore[attr-defined]
            routing = routes_of(session, list(session.exec(query)), pathways)
            found = sorted(routing.per_pathway(set()))
    except Exception:  # the failure may lie in routing itself; fall back to enrolments
        found = []
    if found:
        return found
    enrolled = session.exec(
        select(Enrolment.pathway_id).where(
            Enrolment.patient_id == outbox.patient_id,
            Enrolment.active == True,  # noqa: E712
        )
    ).all()
    return sorted(enrolled) or ["unknown"]
