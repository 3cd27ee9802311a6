"""A patient's data as clinicians read it (the record, the triage history, the national id
on demand) and a submission's result as its patient (or a clinician) asks for it.

Every clinician read is audited in the same unit of work that reads it; a patient reading
their own result is not.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from store.db import session_scope
from store.models import Enrolment, Outbox, Patient, Resource, TriageResult
from usecases.access import Actor, audit, granted, staff_patient
from usecases.errors import Forbidden, NotFound

__all__ = [
    "FAILED_MESSAGE",
    "Record",
    "Submission",
    "enrolments_of",
    "history_in",
    "read_patient",
    "record_in",
    "results_of",
    "reveal_identifier",
    "submission_result",
    "triage_history",
]

FAILED_MESSAGE = "Svarene dine kunne ikke vurderes automatisk. En behandler ser på dem."


@dataclass(frozen=True)
class Record:
    """A patient and their enrolments in the pathways granted to the reader."""

    patient: Patient
    enrolments: list[Enrolment]


@dataclass(frozen=True)
class Submission:
    """How far triage of one submission is: ``pending``, ``done`` (the newest result of
    each pathway, granted ones for staff) or ``failed`` (no result: a person looks, and
    ``message`` tells the patient so)."""

    status: str
    results: list[TriageResult]
    message: str | None = None


def enrolments_of(session: Session, patient_id: str) -> list[Enrolment]:
    """Every enrolment of a patient, by pathway."""
    query = select(Enrolment).where(col(Enrolment.patient_id) == patient_id)
    return list(session.exec(query.order_by(col(Enrolment.pathway_id))))


def results_of(session: Session, actor: Actor, patient_id: str) -> list[TriageResult]:
    """A patient's triage results in the granted pathways, newest data first."""
    query = (
        select(TriageResult)
        .where(col(TriageResult.patient_id) == patient_id)
        .order_by(
            col(TriageResult.data_time).desc(),
            col(TriageResult.created).desc(),
            col(TriageResult.id).desc(),
        )
    )
    return granted(actor, session.exec(query))


def record_in(session: Session, actor: Actor, patient_id: str) -> Record:
    """:func:`read_patient` within a unit of work the caller holds."""
    patient = staff_patient(session, actor, patient_id)
    enrolments = granted(actor, enrolments_of(session, patient_id))
    audit(session, actor, "patient.read", patient_id, target=f"Patient/{patient_id}")
    return Record(patient, enrolments)


def history_in(session: Session, actor: Actor, patient_id: str) -> list[TriageResult]:
    """:func:`triage_history` within a unit of work the caller holds."""
    staff_patient(session, actor, patient_id)
    results = results_of(session, actor, patient_id)
    audit(session, actor, "triage.read", patient_id, results=[r.id for r in results])
    return results


def read_patient(actor: Actor, patient_id: str) -> Record:
    """A patient's record and enrolments (granted pathways); the read is audited."""
    with session_scope() as session:
        return record_in(session, actor, patient_id)


def triage_history(actor: Actor, patient_id: str) -> list[TriageResult]:
    """Every triage result of a patient in the granted pathways, newest data first, with
    reasons and ruleset; audited."""
    with session_scope() as session:
        return history_in(session, actor, patient_id)


def reveal_identifier(actor: Actor, patient_id: str) -> str | None:
    """The patient's full national id, on demand: an audited read."""
    with session_scope() as session:
        patient = staff_patient(session, actor, patient_id)
        target = f"Patient/{patient_id}"
        audit(session, actor, "patient.identifier.read", patient_id, target=target)
        return patient.identifier_value


def submission_result(actor: Actor, resource_type: str, resource_id: str) -> Submission:
    """The triage result of one submission: pending until triage is done. A patient learns
    nothing about data that is not their own, not even that it exists."""
    with session_scope() as session:
        resource = session.get(Resource, resource_id)
        if resource is not None and resource.resource_type != resource_type:
            resource = None
        if not actor.is_staff:
            if resource is None or resource.patient_id != actor.patient_id:
                raise Forbidden()
        elif resource is None or resource.patient_id is None:
            raise NotFound("no such submission")
        else:
            staff_patient(session, actor, resource.patient_id)
        outbox = session.get(Outbox, resource.outbox_id) if resource.outbox_id is not None else None
        if outbox is None or (outbox.done_at is None and not outbox.failed):
            return Submission("pending", [])
        rows = _newest_results(session, resource)
        if actor.is_staff:
            rows = granted(actor, rows)
            audit(session, actor, "submission.read", resource.patient_id, target=resource.id)
        if outbox.failed and not rows:
            # The worker put the patient on a worklist as yellow "could not be triaged".
            return Submission("failed", [], FAILED_MESSAGE)
        return Submission("done", rows)


def _newest_results(session: Session, resource: Resource) -> list[TriageResult]:
    """The judgement of this upload as of its own time, of its current version: the
    newest of each pathway, by pathway."""
    rows = session.exec(
        select(TriageResult)
        .where(
            col(TriageResult.resource_id) == resource.id,
            col(TriageResult.resource_version) == resource.version_id,
            col(TriageResult.patient_id) == resource.patient_id,
        )
        .order_by(col(TriageResult.pathway_id), col(TriageResult.created).desc())
    ).all()
    newest = {row.pathway_id: row for row in reversed(rows)}  # one per pathway, the newest
    return [newest[pathway] for pathway in sorted(newest)]
