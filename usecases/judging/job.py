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
published pathway version. A pathway with a shadow version has the same uploads judged
with it after the commit, in a transaction of its own (usecases/judging/shadow.py). Logs
carry ids only, never patient data.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time

import sqlalchemy as sa
from sqlalchemy import bindparam
from sqlalchemy import update as sa_update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from runtime import clock, metrics
from runtime.logs import adopt_request_id
from store.models import Enrolment, Outbox, Resource
from store.pathways import pathways_in_force, shadows_in_force
from usecases.judging.enrolments import lock_patient
from usecases.judging.failures import MissingData, describe_error, record_failure
from usecases.judging.rejudge import rejudge
from usecases.judging.retry import with_conflict_retry
from usecases.judging.routing import Codings, Routing, load_with_codings, routes_of
from usecases.judging.shadow import ShadowWork, judge_shadows
from usecases.judging.uploads import judge_uploads, unread_forms
from usecases.tasks import complete_for_response

__all__ = ["describe_error", "record_failure", "triage_outbox", "with_conflict_retry"]

log = logging.getLogger(__name__)
CLAIM_LIMIT = 200  # uploads of one patient triaged together at most


def triage_outbox(outbox_id: int, attempt: int = 0) -> str:
    """Triage one outbox row; return ``done``, or ``already-done`` for a row done before."""
    received: list[dt.datetime] = []
    shadows: list[ShadowWork] = []
    outcome = with_conflict_retry(
        lambda session: _triage(session, outbox_id, attempt, received, shadows)
    )
    metrics.observe_triaged(received)  # committed: each upload's wait ends now
    judge_shadows(shadows)  # after the commit, in its own transactions; never raises
    return outcome


def _take(session: Session, outbox_id: int) -> tuple[Outbox, list[Outbox] | None]:
    """The outbox row, locked, and the same patient's other waiting uploads that no other job
    holds, in one statement (``None`` for them when they are still to be looked for).

    Taking the waiting rows along judges the patient's data once instead of once per
    upload: a phone that was offline and uploads hours at once, or a worker that fell
    behind, catches up in one job. Each taken row still gets its own results and is marked
    done here, so its own task later finds it done and changes nothing. When another job
    holds this row (it took it along), the rows taken are let go before waiting for it: a
    job never waits while holding another's row."""
    rows = list(session.scalars(_OWN_AND_WAITING, {"id": outbox_id}))
    own = next((row for row in rows if row.id == outbox_id), None)
    if own is not None:
        return own, [row for row in rows if row.id != outbox_id]
    if rows:
        session.rollback()
    own = session.scalars(_OUTBOX_ROW, {"id": outbox_id}).first()
    if own is None:
        raise MissingData(f"outbox row {outbox_id} does not exist")
    return own, None


def _uploads(
    session: Session, outbox: Outbox, waiting: list[Outbox]
) -> tuple[list[Outbox], list[Resource], Codings]:
    """The waiting rows whose uploads are all there, and the uploads of all the rows with
    their readings' codings (one statement). A waiting row whose data is not all there is
    left to its own task, which reports it; this row's must all be there."""
    own = list(dict.fromkeys(outbox.resource_ids))
    wanted = list(dict.fromkeys([*own, *(rid for row in waiting for rid in row.resource_ids)]))
    found, codings = load_with_codings(session, wanted) if wanted else ([], {})
    by_id = {resource.id: resource for resource in found}
    missing = [rid for rid in own if rid not in by_id]
    if missing:
        raise MissingData(f"outbox row {outbox.id}: {len(missing)} resources missing")
    others = [row for row in waiting if all(rid in by_id for rid in row.resource_ids)]
    keep = list(dict.fromkeys([*own, *(rid for row in others for rid in row.resource_ids)]))
    return others, [by_id[rid] for rid in keep], codings


def _triage(
    session: Session,
    outbox_id: int,
    attempt: int,
    received: list[dt.datetime],
    shadows: list[ShadowWork],
) -> str:
    shadows.clear()  # a transaction run again starts afresh
    outbox, waiting = _take(session, outbox_id)
    adopt_request_id(outbox.request_id)
    if outbox.done_at is not None:
        return "already-done"
    enrolments = lock_patient(session, outbox.patient_id)
    now = clock.now()
    if outbox.kind == "rejudge":
        outcome = rejudge(session, outbox, enrolments, now)
        _finish(session, outbox_id, [outbox], now)
        log.info("outbox %s re-judged: %s", outbox_id, outcome)
        return "done"
    if waiting is None:  # another job held this row: what waits now was not looked for
        waiting = list(
            session.scalars(_WAITING, {"patient_id": outbox.patient_id, "id": outbox_id})
        )
    others, resources, codings = _uploads(session, outbox, waiting)
    _judge_patient(session, outbox, others, (resources, codings), enrolments, now, shadows)
    for resource in resources:  # the form tasks a scheduled response answers (docs/tasks.md)
        complete_for_response(session, resource)
    _finish(session, outbox_id, [outbox, *others], now)
    received[:] = [row.created for row in (outbox, *others)]
    log.info("outbox %s triaged with %d waiting (attempt %d)", outbox_id, len(others), attempt + 1)
    return "done"


def _judge_patient(
    session: Session,
    outbox: Outbox,
    others: list[Outbox],
    uploads: tuple[list[Resource], Codings],
    enrolments: dict[str, Enrolment],
    now: dt.datetime,
    shadows: list[ShadowWork],
) -> None:
    """Route the uploads, then judge them on each pathway that reads them; what a pathway
    with a shadow version judged is noted in ``shadows`` for after the commit."""
    resources, codings = uploads
    owner = {rid: int(row.id or 0) for row in (outbox, *others) for rid in row.resource_ids}
    pathways = pathways_in_force(session)
    in_shadow = shadows_in_force(session)
    routing = routes_of(session, resources, pathways, codings)
    _mark_routed(session, resources, routing)
    unread_forms(session, outbox.patient_id, resources, routing, pathways, enrolments, now)
    for pathway_id, work in sorted(routing.per_pathway(set(enrolments)).items()):
        enrolment = enrolments.get(pathway_id)
        thresholds = enrolment.thresholds if enrolment is not None else None
        if pathway_id in in_shadow:
            shadows.append(
                ShadowWork(
                    in_shadow[pathway_id],
                    outbox.patient_id,
                    thresholds,
                    [r.id for r in work.resources],
                    {r.id: owner[r.id] for r in work.resources},
                    dict(work.extra_reasons),
                )
            )
        judge_uploads(
            session,
            pathways[pathway_id],
            outbox.patient_id,
            thresholds,
            work,
            owner,
            now,
        )
        _test_pause(int(outbox.id or 0), "evaluated")


def _finish(session: Session, outbox_id: int, rows: list[Outbox], now: dt.datetime) -> None:
    """The rows are done, in the same transaction as their results (one statement, no
    ORM bookkeeping: the job reads none of them again)."""
    session.execute(_DONE, {"ids": [row.id for row in rows], "now": now})
    _test_pause(outbox_id, "commit")


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
            session.execute(_ROUTED, {"ids": ids, "routed": routed})


# Built once, run with parameters: SQLAlchemy neither rebuilds them nor recomputes their
# cache keys for every job. The writes are Core statements on the tables: no ORM
# bookkeeping for rows the job has already set (``set_committed_value``) or never reads again.
_OUTBOX_ROW = select(Outbox).where(col(Outbox.id) == bindparam("id")).with_for_update()
_ID: sa.BindParameter[int] = bindparam("id")
_PATIENT_OF = Outbox.__table__.alias("own")  # type: ignore[attr-defined]
_WAITING_FILTER = (
    col(Outbox.done_at).is_(None),
    col(Outbox.failed).is_(False),
    col(Outbox.kind) == "upload",
)
_OWN_AND_WAITING = (  # this row first, then the patient's waiting uploads, oldest first
    select(Outbox)
    .where(
        (col(Outbox.id) == _ID)
        | (
            (
                col(Outbox.patient_id)
                == select(_PATIENT_OF.c.patient_id).where(_PATIENT_OF.c.id == _ID).scalar_subquery()
            )
            & sa.and_(*_WAITING_FILTER)
        )
    )
    .order_by((col(Outbox.id) == _ID).desc(), col(Outbox.id))
    .limit(CLAIM_LIMIT + 1)
    .with_for_update(skip_locked=True)
)
_WAITING = (
    select(Outbox)
    .where(
        col(Outbox.patient_id) == bindparam("patient_id"),
        col(Outbox.id) != bindparam("id"),
        *_WAITING_FILTER,
    )
    .order_by(col(Outbox.id))
    .limit(CLAIM_LIMIT)
    .with_for_update(skip_locked=True)
)
_OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
_RESOURCE = Resource.__table__  # type: ignore[attr-defined]
_DONE = (
    sa_update(_OUTBOX)
    .where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)))
    .values(done_at=bindparam("now"))
)
_ROUTED = (
    sa_update(_RESOURCE)
    .where(_RESOURCE.c.id.in_(bindparam("ids", expanding=True)))
    .values(routed=bindparam("routed"))
)


def _test_pause(outbox_id: int, stage: str) -> None:
    """Test-only hook: with ENVIRONMENT=test and TRIAGE_TEST_PAUSE_SECONDS set, hold the
    transaction open at ``stage`` (``TRIAGE_TEST_PAUSE_AT``: ``commit``, the default, or
    ``evaluated``), so a test can kill the worker halfway or race a second job against it.
    Read from the environment on purpose: a hook, not a setting anyone configures."""
    seconds = os.environ.get("TRIAGE_TEST_PAUSE_SECONDS")
    at = os.environ.get("TRIAGE_TEST_PAUSE_AT", "commit")
    if seconds and at == stage and os.environ.get("ENVIRONMENT") == "test":
        where = "before committing" if stage == "commit" else f"at {stage} of"
        log.warning("test pause %s outbox %s", where, outbox_id)
        time.sleep(float(seconds))
