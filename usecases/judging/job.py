"""The work the triage task wraps: one outbox row judged, saved and put on the worklist.

Everything for one outbox row happens in ONE transaction: the results, the worklist
changes, ``Resource.routed`` and ``Outbox.done_at``. Running a row twice changes nothing
(a done row returns at once; ``TriageResult.task_key`` is UNIQUE), and a collision with a
concurrent job (the UNIQUE ``open_key``) rolls back and runs the row again.

Each upload is judged as of its own time (usecases/judging/evaluation.py), one result per upload and
pathway, and the results go on the patient's item for that pathway, whose level never
falls by itself. Which pathways read an upload: a QuestionnaireResponse goes to the
pathways that read its questionnaire, an Observation to those that route one of its
codings. When the patient is enrolled in some of those pathways, only those triage it;
when in none, all of them do (with the defaults, noted in the result): nothing accepted
vanishes, and a blood pressure of a patient followed for hypertension does not also land
on the heart-failure list. A response no pathway reads puts an enrolled patient on their
pathways' lists as yellow. A ``rejudge`` row judges a patient's newest data with a newly
published pathway version. Logs carry ids only, never patient data.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import update as sa_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from runtime import metrics
from runtime.logs import adopt_request_id
from runtime.settings import get_settings
from store.db import session_scope
from store.models import Enrolment, Outbox, Patient, Resource, TriageResult, new_id
from store.pathways import compiled, pathways_in_force, version_row
from triage import Level, Pathway
from triage.worklist import due_time, failed_text, note_text
from usecases.ingest.prepare import FUTURE_REFUSED_AFTER
from usecases.judging import items
from usecases.judging.evaluation import (
    Judgement,
    Moment,
    PathwayData,
    Routing,
    Work,
    judge,
    newest_data_time,
    questionnaire_url,
    routes_of,
)

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
    """The outbox row, locked, and the uploads it names (none when it is done already:
    under load most rows of a batch were taken along by an earlier job of their patient)."""
    outbox = session.get(Outbox, outbox_id, with_for_update=True)
    if outbox is None:
        raise MissingData(f"outbox row {outbox_id} does not exist")
    adopt_request_id(outbox.request_id)
    if outbox.done_at is not None:
        return outbox, []
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
            Outbox.kind == "upload",
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
    # One job per patient at a time: without this, two jobs could both find no open item,
    # or both hold an item's level from data the other has not seen. FOR NO KEY UPDATE does
    # not block the API's inserts (their foreign-key checks take KEY SHARE); SQLite
    # serialises writers anyway.
    session.exec(
        select(Patient.id).where(Patient.id == outbox.patient_id).with_for_update(key_share=True)
    ).first()
    now = dt.datetime.now(dt.UTC)
    if outbox.kind == "rejudge":
        rejudged = _rejudge(session, outbox, now)
        outbox.done_at = now
        session.add(outbox)
        _test_pause(outbox_id, "commit")
        log.info("outbox %s re-judged: %s", outbox_id, rejudged)
        return "done"
    others, more = _claim_pending(session, outbox)
    have = {r.id for r in resources}
    resources = resources + [r for r in more if r.id not in have]
    owner = {rid: int(row.id or 0) for row in (outbox, *others) for rid in row.resource_ids}
    pathways = pathways_in_force(session)
    enrolments = active_enrolments(session, outbox.patient_id)
    routing = routes_of(session, resources, pathways)
    _mark_routed(session, resources, routing)
    _unread_forms(session, outbox.patient_id, resources, routing, pathways, enrolments, now)
    for pathway_id, work in sorted(routing.per_pathway(set(enrolments)).items()):
        enrolment = enrolments.get(pathway_id)
        _judge_uploads(
            session,
            pathways[pathway_id],
            outbox.patient_id,
            enrolment.thresholds if enrolment is not None else None,
            work,
            owner,
            now,
        )
        _test_pause(outbox_id, "evaluated")
    for row in (outbox, *others):
        row.done_at = now
        session.add(row)
    received[:] = [row.created for row in (outbox, *others)]
    _test_pause(outbox_id, "commit")
    log.info("outbox %s triaged with %d waiting (attempt %d)", outbox_id, len(others), attempt + 1)
    return "done"


def _mark_routed(session: Session, resources: list[Resource], routing: Routing) -> None:
    """``Resource.routed``: True when some pathway reads it, False when none does (shown as
    unrouted). Two statements, not one per upload: a Bundle of 288 readings is one job."""
    flags: dict[bool, list[str]] = {True: [], False: []}
    for resource in resources:
        if resource.resource_type in ("QuestionnaireResponse", "Observation"):
            routed = bool(routing.readers.get(resource.id))
            flags[routed].append(resource.id)
            set_committed_value(resource, "routed", routed)  # the row, not a pending change
    for routed, ids in flags.items():
        if ids:
            session.execute(
                sa_update(Resource).where(col(Resource.id).in_(ids)).values(routed=routed)
            )


def active_enrolments(session: Session, patient_id: str) -> dict[str, Enrolment]:
    return {
        e.pathway_id: e
        for e in session.exec(
            select(Enrolment).where(
                Enrolment.patient_id == patient_id,
                Enrolment.active == True,  # noqa: E712 (SQL, not Python)
            )
        )
    }


def _judge_uploads(
    session: Session,
    pathway: Pathway,
    patient_id: str,
    thresholds: dict[str, Any] | None,
    work: Work,
    owner: dict[str, int],
    now: dt.datetime,
) -> None:
    """Judge each upload the pathway reads as of its own time; put the results on the item.

    A corrected upload is judged again (its version's time) with a note of what it was; a
    withdrawn one is not judged: the patient's newest remaining data is, and the item notes
    the withdrawal. Neither lowers the item's level."""
    moments: list[Moment] = []
    notes: list[dict[str, Any]] = []
    withdrawn: list[Resource] = []
    corrected = [r.id for r in work.resources if r.version_id > 1]
    done = _judged_versions(session, pathway.id, corrected) if corrected else set()
    for resource in work.resources:
        if (resource.id, resource.version_id) in done:
            # A correction arrived before the first upload's job ran: that job judged the
            # corrected version already (it reads the current one); once is enough.
            continue
        if resource.withdrawn and resource.version_id > 1:
            withdrawn.append(resource)
            notes.append(_change_note(session, "withdrawn", pathway, resource))
            continue
        moments.append(
            Moment(
                as_of=resource.data_time or resource.received_at,
                resource=resource,
                extra=work.extra_reasons.get(resource.id, []),
                arrived=resource.received_at,
            )
        )
        if resource.version_id > 1:
            notes.append(_change_note(session, "corrected", pathway, resource))
    uploads = len(moments)
    if withdrawn:
        newest = newest_data_time(session, pathway, patient_id, now + FUTURE_REFUSED_AFTER)
        if newest is not None:
            moments.append(Moment(as_of=newest))
    judgements = []
    if moments:
        data = PathwayData(session, pathway, patient_id, moments)
        judgements = [judge(data, moment, thresholds, now) for moment in moments]
    # An upload's result belongs to its own outbox row; the re-judgement after data was
    # withdrawn, to the row of the (first) withdrawal.
    boxes = [owner[(j.resource or withdrawn[0]).id] for j in judgements]
    keys = [
        f"{box}:{j.resource.id}:{pathway.id}"
        if j.resource is not None
        else f"{box}:withdrawn:{pathway.id}"
        for box, j in zip(boxes, judgements, strict=True)
    ]
    kinds = ["upload" if j.resource is not None else "withdrawn" for j in judgements]
    judged = _store_results(session, pathway, patient_id, judgements, keys, kinds, now, boxes=boxes)
    forms = any(
        r.resource_type == "QuestionnaireResponse" and not r.withdrawn for r in work.resources
    )
    items.apply_results(
        session,
        patient_id=patient_id,
        pathway_id=pathway.id,
        judged=judged,
        now=now,
        notes=notes,
        clears_overdue=forms,
        may_open=uploads > 0,
        kind="triage" if uploads else "withdrawn",
    )


def _store_results(
    session: Session,
    pathway: Pathway,
    patient_id: str,
    judgements: list[Judgement],
    keys: list[str],
    kinds: list[str],
    now: dt.datetime,
    boxes: list[int] | None = None,
) -> list[items.Judged]:
    """Insert one result row per judgement (one statement); the worklist's view of each.
    ``boxes``: the outbox row of each (none for a re-judgement).

    A second run of the same rows stops here: ``task_key`` is UNIQUE."""
    if not judgements:
        return []
    rows = []
    judged = []
    outbox_ids: list[int | None] = list(boxes) if boxes is not None else [None] * len(keys)
    for judgement, key, kind, box in zip(judgements, keys, kinds, outbox_ids, strict=True):
        result_id = new_id("r")
        resource = judgement.resource
        rows.append(
            {
                "id": result_id,
                "task_key": key,
                "outbox_id": box,
                "patient_id": patient_id,
                "pathway_id": pathway.id,
                "version": pathway.version,
                "sha256": pathway.sha256,
                "level": judgement.level.label,
                "result": judgement.record,
                "sources": judgement.sources,
                "data_time": judgement.as_of,
                "created": now,
                "resource_id": resource.id if resource is not None else None,
                "resource_version": resource.version_id if resource is not None else None,
                "kind": kind,
            }
        )
        at = judgement.shown_time.astimezone(dt.UTC).isoformat()
        judged.append(
            items.Judged(
                result_id=result_id,
                level=judgement.level,
                reasons=[{**r, "at": at, "result": result_id} for r in judgement.record["reasons"]],
                action=judgement.action,
                due=judgement.due,
                sources=judgement.sources,
                ruleset=judgement.record["ruleset"],
                data_time=judgement.shown_time,
                made=now,
                undecided=judgement.record.get("undecided", []),
            )
        )
    session.execute(TriageResult.__table__.insert(), rows)  # type: ignore[attr-defined]
    return judged


def _judged_versions(
    session: Session, pathway_id: str, resource_ids: list[str]
) -> set[tuple[str, int]]:
    """(upload, version) this pathway has judged already, of these uploads."""
    found = session.exec(
        select(TriageResult.resource_id, TriageResult.resource_version).where(
            col(TriageResult.resource_id).in_(resource_ids),
            TriageResult.pathway_id == pathway_id,
            TriageResult.kind == "upload",
        )
    ).all()
    return {(str(rid), int(version or 0)) for rid, version in found}


def _prior_level(session: Session, resource_id: str, pathway_id: str) -> str | None:
    """The worst level the earlier versions of an upload were judged on a pathway."""
    levels = session.exec(
        select(TriageResult.level).where(
            TriageResult.resource_id == resource_id,
            TriageResult.pathway_id == pathway_id,
            TriageResult.kind == "upload",
        )
    ).all()
    return max(levels, key=Level.parse, default=None)


def _change_note(
    session: Session, kind: str, pathway: Pathway, resource: Resource
) -> dict[str, Any]:
    """The reason an item carries for data withdrawn or corrected: at the level that data
    was judged before (so it never raises the item, and the level it held stays)."""
    level = _prior_level(session, resource.id, pathway.id) or Level.GREEN.label
    when = resource.data_time or resource.received_at
    text = note_text(
        kind,
        pathway.language,
        when=when,
        what=f"{resource.resource_type}/{resource.id}",
        level=level,
        version=resource.version_id,
    )
    return {
        "rule": None,
        "level": level,
        "text": text,
        "kind": kind,
        "key": f"{kind}:{resource.id}:{resource.version_id}",
        "at": when.astimezone(dt.UTC).isoformat(),
    }


def _unread_forms(
    session: Session,
    patient_id: str,
    resources: list[Resource],
    routing: Routing,
    pathways: dict[str, Pathway],
    enrolments: dict[str, Enrolment],
    now: dt.datetime,
) -> None:
    """A response no pathway reads, from a patient enrolled somewhere, puts the patient on
    each of their pathways' worklists as yellow: a patient filled in a form, a person must
    read it (API.md)."""
    for resource in resources:
        if resource.resource_type != "QuestionnaireResponse" or resource.withdrawn:
            continue
        if routing.readers.get(resource.id):
            continue
        when = min(resource.data_time or resource.received_at, resource.received_at)
        for pathway_id in sorted(enrolments):
            pathway = pathways.get(pathway_id)
            language = pathway.language if pathway is not None else "nb"
            reason = {
                "rule": None,
                "level": Level.YELLOW.label,
                "text": note_text("unread-form", language, form=questionnaire_url(resource)),
                "kind": "unread-form",
                "key": f"unread:{resource.id}",
                "at": when.astimezone(dt.UTC).isoformat(),
            }
            items.apply_problem(
                session,
                patient_id=patient_id,
                pathway_id=pathway_id,
                kind="unread-form",
                reason=reason,
                due=due_time(Level.YELLOW, None, when),
                now=now,
                sources=[{"resourceType": resource.resource_type, "id": resource.id}],
            )


def _rejudge(session: Session, outbox: Outbox, now: dt.datetime) -> str:
    """The patient's newest data judged with the version this row was written for.

    Skipped when a newer version has been published since (its own row re-judges), when
    the patient is neither enrolled nor on the pathway's list, or has no data for it."""
    row = version_row(session, str(outbox.pathway_id))
    if row is None or row.version != outbox.version:
        return "superseded"
    pathway = compiled(row)
    enrolment = active_enrolments(session, outbox.patient_id).get(pathway.id)
    if enrolment is None and items.open_item(session, outbox.patient_id, pathway.id) is None:
        return "not followed"
    newest = newest_data_time(session, pathway, outbox.patient_id, now + FUTURE_REFUSED_AFTER)
    if newest is None:
        return "no data"
    moment = Moment(as_of=newest)
    data = PathwayData(session, pathway, outbox.patient_id, [moment])
    judgement = judge(data, moment, enrolment.thresholds if enrolment else None, now)
    key = f"rejudge:{pathway.id}:{pathway.version}:{outbox.patient_id}"
    judged = _store_results(
        session, pathway, outbox.patient_id, [judgement], [key], ["rejudge"], now
    )
    items.apply_results(
        session,
        patient_id=outbox.patient_id,
        pathway_id=pathway.id,
        judged=judged,
        now=now,
        may_open=False,
        kind="rejudge",
    )
    return judgement.level.label


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
            "at": outbox.created.astimezone(dt.UTC).isoformat(),
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
    if outbox.kind == "rejudge" and outbox.pathway_id:
        return [outbox.pathway_id]  # the patient's data could not be judged with the new version
    try:
        with session.begin_nested():  # a savepoint: a failure here must not spoil the rest
            query = select(Resource).where(Resource.id.in_(outbox.resource_ids))  # type: ignore[attr-defined]
            routing = routes_of(session, list(session.exec(query)), pathways)
            # The pathways it would have been judged on: the enrolled readers, else all readers.
            found = sorted(routing.per_pathway(set(active_enrolments(session, outbox.patient_id))))
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
