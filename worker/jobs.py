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
from sqlmodel import Session, col, select

from store.db import session_scope
from store.logs import adopt_request_id
from store.models import Enrolment, Outbox, Patient, Resource, TriageResult, new_id
from store.pathways import pathways_in_force
from store.settings import get_settings
from triage import Level, Pathway
from triage.worklist import due_time, failed_text
from worker import items, metrics
from worker.evaluation import PathwayData, evaluate_pathway, routes_of

log = logging.getLogger(__name__)
T = TypeVar("T")
CONFLICT_TRIES = 5
CLAIM_LIMIT = 200  # uploads of one patient triaged together at most


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
    received: list[dt.datetime] = []
    outcome = with_conflict_retry(lambda session: _triage(session, outbox_id, attempt, received))
    metrics.observe_triaged(received)  # committed: each upload's wait ends now
    return outcome


def _load(session: Session, outbox_id: int) -> tuple[Outbox, list[Resource]]:
    outbox = session.get(Outbox, outbox_id, with_for_update=True)
    if outbox is None:
        raise MissingData(f"outbox row {outbox_id} does not exist")
    adopt_request_id(outbox.request_id)
    wanted = list(dict.fromkeys(outbox.resource_ids))
    found = session.exec(select(Resource).where(Resource.id.in_(wanted))).all()  # type: ignore[attr-defined]
    by_id = {resource.id: resource for resource in found}
    if len(by_id) != len(wanted):
        raise MissingData(f"outbox row {outbox_id}: {len(wanted) - len(by_id)} resources missing")
    return outbox, [by_id[rid] for rid in wanted]


def _claim_pending(session: Session, outbox: Outbox) -> tuple[list[Outbox], list[Resource]]:
    """Other uploads of the same patient still waiting, which no other job holds.

    Triaging them with this one evaluates the patient's data once instead of once per
    upload: a phone that was offline and uploads hours at once, or a worker that fell
    behind, catches up in one job. Each claimed row still gets its own results and is
    marked done here, so its own task later finds it done and changes nothing.
    """
    query = (
        select(Outbox)
        .where(
            Outbox.patient_id == outbox.patient_id,
            col(Outbox.id) != outbox.id,
            Outbox.done_at == None,  # noqa: E711 (SQL, not Python)
            Outbox.failed == False,  # noqa: E712
        )
        .order_by(Outbox.id)  # type: ignore[arg-type]
        .limit(CLAIM_LIMIT)
        .with_for_update(skip_locked=True)
    )
    claimed = list(session.exec(query))
    if not claimed:
        return [], []
    wanted = list(dict.fromkeys(rid for row in claimed for rid in row.resource_ids))
    found = session.exec(select(Resource).where(Resource.id.in_(wanted))).all()  # type: ignore[attr-defined]
    present = {r.id for r in found}
    # A row whose data is not all there is left to its own task (which reports it).
    complete = [row for row in claimed if all(rid in present for rid in row.resource_ids)]
    keep = {rid for row in complete for rid in row.resource_ids}
    return complete, [r for r in found if r.id in keep]


def _triage(session: Session, outbox_id: int, attempt: int, received: list[dt.datetime]) -> str:
    outbox, resources = _load(session, outbox_id)
    if outbox.done_at is not None:
        return "already-done"
    # One job per patient at a time: without this, a job that read the patient's data could
    # commit its level after a job that read newer data, and an older green would replace a
    # newer red. FOR NO KEY UPDATE does not block the API's inserts (their foreign-key
    # checks take KEY SHARE); SQLite serialises writers anyway.
    session.exec(
        select(Patient.id).where(Patient.id == outbox.patient_id).with_for_update(key_share=True)
    ).first()
    now = dt.datetime.now(dt.UTC)
    others, more = _claim_pending(session, outbox)
    resources = resources + [r for r in more if r.id not in {x.id for x in resources}]
    owner = {rid: row.id for row in (outbox, *others) for rid in row.resource_ids}
    pathways = pathways_in_force(session)
    enrolments = {
        e.pathway_id: e
        for e in session.exec(
            select(Enrolment).where(
                Enrolment.patient_id == outbox.patient_id,
                Enrolment.active == True,  # noqa: E712 (SQL, not Python)
            )
        )
    }
    routing = routes_of(session, resources, pathways)
    for resource in resources:
        if resource.resource_type in ("QuestionnaireResponse", "Observation"):
            resource.routed = bool(routing.readers.get(resource.id))
            session.add(resource)
    for pathway_id, work in sorted(routing.per_pathway(set(enrolments)).items()):
        pathway = pathways[pathway_id]
        enrolment = enrolments.get(pathway_id)
        data = PathwayData(
            patient_id=outbox.patient_id,
            resources=work.resources,
            extra_reasons=work.extra_reasons,
            thresholds=enrolment.thresholds if enrolment is not None else None,
        )
        outcome = evaluate_pathway(session, pathway, data, now)
        _test_pause(outbox_id, "evaluated")
        data_time = outcome.data_time or max(
            (r.data_time or r.received_at for r in work.resources), default=outbox.created
        )
        # A result per upload whose data this pathway read: an upload claimed with this one
        # is answered for its own pathways, and this one is not answered for theirs.
        readers = sorted({owner[r.id] for r in work.resources}, key=lambda o: (o != outbox_id, o))
        results = [
            TriageResult(
                id=new_id("r"),
                task_key=f"{row_id}:{pathway_id}",
                outbox_id=row_id,
                patient_id=outbox.patient_id,
                pathway_id=pathway_id,
                version=pathway.version,
                sha256=pathway.sha256,
                level=outcome.level.label,
                result=outcome.record,
                sources=outcome.sources,
                data_time=data_time,
                created=now,
            )
            for row_id in readers
        ]
        session.add_all(results)
        session.flush()  # a second run of these rows stops here (UNIQUE task_key)
        result = results[0]
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
    for row in (outbox, *others):
        row.done_at = now
        session.add(row)
    received[:] = [row.created for row in (outbox, *others)]
    _test_pause(outbox_id, "commit")
    log.info("outbox %s triaged with %d waiting (attempt %d)", outbox_id, len(others), attempt + 1)
    return "done"


def _test_pause(outbox_id: int, stage: str) -> None:
    """Test-only hook: with ENVIRONMENT=test and TRIAGE_TEST_PAUSE_SECONDS set, hold the
    transaction open at ``stage`` (``TRIAGE_TEST_PAUSE_AT``: ``commit``, the default, or
    ``evaluated``), so a test can kill the worker halfway or race a second job against it."""
    seconds = os.environ.get("TRIAGE_TEST_PAUSE_SECONDS")
    at = os.environ.get("TRIAGE_TEST_PAUSE_AT", "commit")
    if seconds and at == stage and get_settings().environment == "test":
        where = "before committing" if stage == "commit" else f"at {stage} of"
        log.warning("test pause %s outbox %s", where, outbox_id)
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
    marked: list[bool] = []
    made = with_conflict_retry(
        lambda session: _record_failure(session, outbox_id, why, attempts, error, marked)
    )
    if marked:  # committed, and counted once however often the transaction ran
        metrics.TASKS_FAILED.labels(why).inc()
    return made


def _record_failure(
    session: Session, outbox_id: int, why: str, attempts: int, error: str, marked: list[bool]
) -> list[str]:
    outbox = session.get(Outbox, outbox_id, with_for_update=True)
    if outbox is None or outbox.done_at is not None:
        return []
    adopt_request_id(outbox.request_id)
    marked[:] = [True]
    now = dt.datetime.now(dt.UTC)
    outbox.failed = True
    outbox.last_error = f"{why}: {error} (after {attempts} attempts)"
    outbox.attempts = max(outbox.attempts, attempts)
    outbox.done_at = now
    session.add(outbox)
    pathways = pathways_in_force(session)
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
