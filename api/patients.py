"""Patients for clinicians (record, triage history, enrolments) and results for the patient."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api import shapes
from api.auth import CurrentPrincipal, DbSession, Principal, Staff, audit, forbidden
from api.schemas import EnrolmentBody, enrolment_view, iso, number, patient_brief, result_view
from api.shapes import described
from store.models import Enrolment, Outbox, Patient, Resource, TriageResult, WorklistItem, utcnow
from store.pathways import compiled, version_row
from triage import ThresholdError, check_patient_thresholds

router = APIRouter(tags=["patients"])

FAILED_MESSAGE = "Svarene dine kunne ikke vurderes automatisk. En behandler ser på dem."


def patient_pathways(session: Session, patient_id: str) -> set[str]:
    """Every pathway a patient is in: enrolled, on a worklist, or triaged by."""
    found: set[str] = set()
    for model in (Enrolment, WorklistItem, TriageResult):
        query = select(model.pathway_id).where(model.patient_id == patient_id).distinct()
        found.update(session.exec(query))
    return found


def staff_patient(session: Session, principal: Principal, patient_id: str) -> Patient:
    """The patient, if this clinician is granted one of the patient's pathways (or ``*``)."""
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise HTTPException(404, detail="no such patient")
    if "*" in principal.pathways:
        return patient
    if not principal.pathways & patient_pathways(session, patient_id):
        raise forbidden("this patient is in none of the pathways granted to this token")
    return patient


def _granted(principal: Principal, rows: list[Any]) -> list[Any]:
    return [row for row in rows if principal.may_see_pathway(row.pathway_id)]


@router.get("/api/patients/{patient_id}", **described(shapes.PatientRecord))
def read_patient(patient_id: str, principal: Staff, session: DbSession) -> dict[str, Any]:
    """A patient's record and enrolments (granted pathways); the read is audited."""
    patient = staff_patient(session, principal, patient_id)
    enrolments = _granted(principal, _enrolments(session, patient_id))
    audit(session, principal, "patient.read", patient_id, target=f"Patient/{patient_id}")
    session.commit()
    return {
        **patient_brief(patient),
        "created": iso(patient.created),
        "enrolments": [enrolment_view(e) for e in enrolments],
        "resource": patient.resource,
    }


@router.get("/api/patients/{patient_id}/triage", **described(shapes.TriageHistory))
def triage_history(patient_id: str, principal: Staff, session: DbSession) -> dict[str, Any]:
    """Every triage result of a patient, newest data first, with reasons and ruleset; audited."""
    staff_patient(session, principal, patient_id)
    query = (
        select(TriageResult)
        .where(col(TriageResult.patient_id) == patient_id)
        .order_by(
            col(TriageResult.data_time).desc(),
            col(TriageResult.created).desc(),
            col(TriageResult.id).desc(),
        )
    )
    results = _granted(principal, list(session.exec(query)))
    audit(session, principal, "triage.read", patient_id, results=[r.id for r in results])
    session.commit()
    return {"patient": patient_id, "results": [result_view(r) for r in results]}


def _enrolments(session: Session, patient_id: str) -> list[Enrolment]:
    query = select(Enrolment).where(col(Enrolment.patient_id) == patient_id)
    return list(session.exec(query.order_by(col(Enrolment.pathway_id))))


@router.get("/api/patients/{patient_id}/enrolments", **described(shapes.Enrolments))
def list_enrolments(patient_id: str, principal: Staff, session: DbSession) -> dict[str, Any]:
    """A patient's enrolments in the granted pathways; audited."""
    staff_patient(session, principal, patient_id)
    enrolments = _granted(principal, _enrolments(session, patient_id))
    audit(session, principal, "enrolments.read", patient_id)
    session.commit()
    return {"patient": patient_id, "enrolments": [enrolment_view(e) for e in enrolments]}


@router.post(
    "/api/patients/{patient_id}/enrolments",
    **described(shapes.Enrolment, (201, shapes.Enrolment, "a new enrolment")),
)
def enrol(
    patient_id: str, body: EnrolmentBody, principal: Staff, session: DbSession
) -> JSONResponse:
    """Enrol a patient in a granted pathway with the patient's own thresholds (or update them)."""
    if not principal.may_see_pathway(body.pathway):
        raise forbidden(f"pathway {body.pathway!r} is not granted to this token")
    if session.get(Patient, patient_id) is None:
        raise HTTPException(404, detail="no such patient")
    row = version_row(session, body.pathway)
    if row is None:
        raise HTTPException(404, detail=f"no pathway {body.pathway!r} is published")
    try:
        values = check_patient_thresholds(compiled(row), body.thresholds)
    except ThresholdError as exc:
        return JSONResponse({"error": str(exc), "problems": exc.problems}, status_code=422)
    thresholds = {name: number(value) for name, value in values.items()}
    enrolment, created = _upsert(
        session, principal, patient_id, body.pathway, thresholds, body.enrolled_at
    )
    audit(session, principal, "enrolment.write", patient_id, target=body.pathway)
    session.commit()
    return JSONResponse(enrolment_view(enrolment), status_code=201 if created else 200)


@router.delete("/api/patients/{patient_id}/enrolments/{pathway_id}", **described(shapes.Enrolment))
def end_enrolment(
    patient_id: str, pathway_id: str, principal: Staff, session: DbSession
) -> dict[str, Any]:
    """End a patient's follow-up in a pathway: no more overdue questionnaires, and the
    patient's own thresholds no longer apply. The row, its thresholds and its history stay;
    enrolling again starts a new follow-up from then."""
    if not principal.may_see_pathway(pathway_id):
        raise forbidden(f"pathway {pathway_id!r} is not granted to this token")
    row = _locked_enrolment(session, patient_id, pathway_id)
    if row is None:
        raise HTTPException(404, detail=f"the patient is not enrolled in {pathway_id!r}")
    if not row.active:
        raise HTTPException(409, detail=f"the follow-up in {pathway_id!r} has already ended")
    row.active = False
    session.add(row)
    audit(session, principal, "enrolment.end", patient_id, target=pathway_id)
    session.commit()
    return enrolment_view(row)


def _locked_enrolment(session: Session, patient_id: str, pathway: str) -> Enrolment | None:
    """The patient's enrolment in the pathway, locked for this transaction (PostgreSQL)."""
    query = select(Enrolment).where(
        col(Enrolment.patient_id) == patient_id, col(Enrolment.pathway_id) == pathway
    )
    return session.exec(query.with_for_update()).first()


def _upsert(
    session: Session,
    principal: Principal,
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
                    enrolled_by=principal.subject,
                    enrolled_at=enrolled_at or utcnow(),
                )
                session.add(row)
            return row, True
        except IntegrityError:
            row = _locked_enrolment(session, patient_id, pathway)
            assert row is not None
    # New thresholds do not restart the schedule: the follow-up began when it began, unless
    # the caller says otherwise or the enrolment had ended and starts again now.
    if enrolled_at is not None:
        row.enrolled_at = enrolled_at
    elif not row.active:
        row.enrolled_at = utcnow()
    row.thresholds, row.active = thresholds, True
    row.enrolled_by = principal.subject
    session.add(row)
    return row, False


@router.get(
    "/api/submissions/{resource_type}/{resource_id}/result",
    **described(shapes.SubmissionResult, (202, shapes.Pending, "triage is not done yet")),
)
def submission_result(
    resource_type: str, resource_id: str, principal: CurrentPrincipal, session: DbSession
) -> JSONResponse:
    """The triage result of one submission: pending (202) until triage is done."""
    resource = session.get(Resource, resource_id)
    if resource is not None and resource.resource_type != resource_type:
        resource = None
    if not principal.is_staff:
        # A patient learns nothing about data that is not their own, not even that it exists.
        if resource is None or resource.patient_id != principal.patient_id:
            raise forbidden()
    elif resource is None or resource.patient_id is None:
        raise HTTPException(404, detail="no such submission")
    else:
        staff_patient(session, principal, resource.patient_id)
    outbox = session.get(Outbox, resource.outbox_id) if resource.outbox_id is not None else None
    if outbox is None or (outbox.done_at is None and not outbox.failed):
        return JSONResponse({"status": "pending"}, status_code=202)
    # The judgement of this upload as of its own time, of its current version.
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
    rows = [newest[pathway] for pathway in sorted(newest)]
    if principal.is_staff:
        rows = _granted(principal, list(rows))
        audit(session, principal, "submission.read", resource.patient_id, target=resource.id)
        session.commit()
    results = [
        {
            "pathway": r.pathway_id,
            "level": r.level,
            "patient_message": (r.result or {}).get("patient_message"),
            "version": r.version,
        }
        for r in rows
    ]
    if outbox.failed and not rows:
        # The worker put the patient on a worklist as yellow "could not be triaged".
        return JSONResponse({"status": "failed", "results": [], "message": FAILED_MESSAGE})
    return JSONResponse({"status": "done", "results": results})
