"""A patient's enrolments: list them, enrol (with the patient's own thresholds, or new
ones), and end a follow-up. Each change is audited in its own unit of work, and keeps the
enrolment's periods of follow-up (``EnrolmentPeriod``) in step: enrolling opens one (or
moves the open one's start when ``enrolled_at`` is given), ending closes it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from store.db import session_scope
from store.models import Enrolment, EnrolmentPeriod, Patient, utcnow
from store.pathways import compiled, version_row
from triage import ThresholdError, check_patient_thresholds
from usecases.access import Actor, audit, granted, require_pathway, staff_patient
from usecases.errors import Conflict, NotFound, Unprocessable
from usecases.records import enrolments_of
from usecases.tasks import cancel_for_enrolment

__all__ = ["end_enrolment", "enrol", "list_enrolments", "number"]


def number(value: Decimal | None) -> int | float | None:
    """An exact engine number as JSON holds it: whole numbers as int, the rest as float."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def list_enrolments(actor: Actor, patient_id: str) -> list[tuple[Enrolment, list[EnrolmentPeriod]]]:
    """A patient's enrolments in the granted pathways, each with its periods of follow-up
    (oldest first); audited."""
    with session_scope() as session:
        staff_patient(session, actor, patient_id)
        enrolments = granted(actor, enrolments_of(session, patient_id))
        audit(session, actor, "enrolments.read", patient_id)
        return [(row, _periods(session, row)) for row in enrolments]


def enrol(
    actor: Actor,
    patient_id: str,
    pathway: str,
    thresholds: dict[str, Any],
    enrolled_at: dt.datetime | None = None,
) -> tuple[Enrolment, bool]:
    """Enrol a patient in a granted pathway with the patient's own thresholds (or update
    them); True when the enrolment is new."""
    require_pathway(actor, pathway)
    with session_scope() as session:
        if session.get(Patient, patient_id) is None:
            raise NotFound("no such patient")
        row = version_row(session, pathway)
        if row is None:
            raise NotFound(f"no pathway {pathway!r} is published")
        try:
            values = check_patient_thresholds(compiled(row), thresholds)
        except ThresholdError as exc:
            raise Unprocessable(str(exc), exc.problems) from None
        own = {name: number(value) for name, value in values.items()}
        enrolment, created = _upsert(session, actor, patient_id, pathway, own, enrolled_at)
        audit(session, actor, "enrolment.write", patient_id, target=pathway)
        return enrolment, created


def end_enrolment(actor: Actor, patient_id: str, pathway_id: str) -> Enrolment:
    """End a patient's follow-up in a pathway: no more overdue questionnaires, and the
    patient's own thresholds no longer apply. The row, its thresholds and its history stay;
    enrolling again starts a new follow-up from then."""
    require_pathway(actor, pathway_id)
    with session_scope() as session:
        row = _locked_enrolment(session, patient_id, pathway_id)
        if row is None:
            raise NotFound(f"the patient is not enrolled in {pathway_id!r}")
        if not row.active:
            raise Conflict(f"the follow-up in {pathway_id!r} has already ended")
        row.active = False
        period = _open_period(session, row, actor)
        period.ended_at, period.ended_by = utcnow(), actor.subject
        session.add_all([row, period])
        cancel_for_enrolment(session, patient_id, pathway_id)  # its open form tasks
        audit(session, actor, "enrolment.end", patient_id, target=pathway_id)
        return row


def _locked_enrolment(session: Session, patient_id: str, pathway: str) -> Enrolment | None:
    """The patient's enrolment in the pathway, locked for this transaction (PostgreSQL)."""
    query = select(Enrolment).where(
        col(Enrolment.patient_id) == patient_id, col(Enrolment.pathway_id) == pathway
    )
    return session.exec(query.with_for_update()).first()


def _upsert(
    session: Session,
    actor: Actor,
    patient_id: str,
    pathway: str,
    thresholds: dict[str, Any],
    enrolled_at: dt.datetime | None,
) -> tuple[Enrolment, bool]:
    # UNIQUE (patient, pathway): a parallel enrolment loses the insert and updates instead.
    row = _locked_enrolment(session, patient_id, pathway)
    if row is None:
        try:
            with session.begin_nested():
                row = Enrolment(
                    patient_id=patient_id,
                    pathway_id=pathway,
                    thresholds=thresholds,
                    enrolled_by=actor.subject,
                    enrolled_at=enrolled_at or utcnow(),
                )
                session.add(row)
                session.flush()
                session.add(_period(row, actor))
            return row, True
        except IntegrityError:
            row = _locked_enrolment(session, patient_id, pathway)
            assert row is not None
    # New thresholds do not restart the schedule: the follow-up began when it began, unless
    # the caller says otherwise (the open period's start moves with it) or the enrolment had
    # ended and starts again (a new period).
    if row.active:
        if enrolled_at is not None:
            period = _open_period(session, row, actor)
            _check_start(session, row, enrolled_at, before=period.id)
            row.enrolled_at = period.started_at = enrolled_at
            session.add(period)
    else:
        start = enrolled_at or utcnow()
        _check_start(session, row, start)
        row.enrolled_at = start
        session.add(_period(row, actor))
    row.thresholds, row.active = thresholds, True
    row.enrolled_by = actor.subject
    session.add(row)
    return row, False


def _period(row: Enrolment, actor: Actor) -> EnrolmentPeriod:
    """A new open period of the enrolment, from its ``enrolled_at``."""
    assert row.id is not None
    return EnrolmentPeriod(
        enrolment_id=row.id,
        patient_id=row.patient_id,
        pathway_id=row.pathway_id,
        started_at=row.enrolled_at,
        started_by=actor.subject,
    )


def _periods(session: Session, row: Enrolment) -> list[EnrolmentPeriod]:
    query = select(EnrolmentPeriod).where(col(EnrolmentPeriod.enrolment_id) == row.id)
    order = (col(EnrolmentPeriod.started_at), col(EnrolmentPeriod.id))
    return list(session.exec(query.order_by(*order)))


def _open_period(session: Session, row: Enrolment, actor: Actor) -> EnrolmentPeriod:
    """The enrolment's open period; one from ``enrolled_at`` for an active enrolment written
    without one (straight into the table, as some tools and tests do)."""
    for period in _periods(session, row):
        if period.ended_at is None:
            return period
    period = _period(row, actor)
    session.add(period)
    session.flush()
    return period


def _check_start(
    session: Session, row: Enrolment, start: dt.datetime, before: int | None = None
) -> None:
    """A follow-up cannot start before an earlier period of it ended (the periods of one
    enrolment never overlap, so no day of follow-up is counted twice)."""
    ends = [p.ended_at for p in _periods(session, row) if p.id != before and p.ended_at is not None]
    if ends and start < max(ends):
        last = max(ends).isoformat()
        raise Unprocessable(
            "the follow-up cannot start before its previous period ended",
            [f"enrolled_at: give a time at or after {last}, when the previous follow-up ended"],
        )
