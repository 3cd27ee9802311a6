"""Patients for clinicians (record, triage history, enrolments) and results for the patient,
over HTTP. The work is done by :mod:`usecases.records` and :mod:`usecases.enrolments`."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from api import shapes
from api.auth import CurrentPrincipal, Staff
from api.schemas import EnrolmentBody
from usecases import enrolments, records

__all__ = ["router"]

router = APIRouter(tags=["patients"])


@router.get("/api/patients/{patient_id}", response_model=shapes.PatientRecord)
def read_patient(patient_id: str, principal: Staff) -> shapes.PatientRecord:
    """A patient's record and enrolments (granted pathways); the read is audited."""
    record = records.read_patient(principal, patient_id)
    return shapes.PatientRecord.of_record(record.patient, record.enrolments)


@router.get("/api/patients/{patient_id}/triage", response_model=shapes.TriageHistory)
def triage_history(patient_id: str, principal: Staff) -> shapes.TriageHistory:
    """Every triage result of a patient, newest data first, with reasons and ruleset; audited."""
    results = records.triage_history(principal, patient_id)
    return shapes.TriageHistory(
        patient=patient_id, results=[shapes.TriageResult.of(r) for r in results]
    )


@router.get("/api/patients/{patient_id}/enrolments", response_model=shapes.Enrolments)
def list_enrolments(patient_id: str, principal: Staff) -> shapes.Enrolments:
    """A patient's enrolments in the granted pathways; audited."""
    found = enrolments.list_enrolments(principal, patient_id)
    shown = [shapes.EnrolmentWithPeriods.with_periods(e, periods) for e, periods in found]
    return shapes.Enrolments(patient=patient_id, enrolments=shown)


@router.post(
    "/api/patients/{patient_id}/enrolments",
    response_model=shapes.Enrolment,
    responses={201: {"model": shapes.Enrolment, "description": "a new enrolment"}},
)
def enrol(
    patient_id: str, body: EnrolmentBody, principal: Staff, response: Response
) -> shapes.Enrolment:
    """Enrol a patient in a granted pathway with the patient's own thresholds (or update them)."""
    row, created = enrolments.enrol(
        principal, patient_id, body.pathway, body.thresholds, body.enrolled_at
    )
    response.status_code = 201 if created else 200
    return shapes.Enrolment.of(row)


@router.delete(
    "/api/patients/{patient_id}/enrolments/{pathway_id}", response_model=shapes.Enrolment
)
def end_enrolment(patient_id: str, pathway_id: str, principal: Staff) -> shapes.Enrolment:
    """End a patient's follow-up in a pathway: no more overdue questionnaires, and the
    patient's own thresholds no longer apply. The row, its thresholds and its history stay;
    enrolling again starts a new follow-up from then."""
    return shapes.Enrolment.of(enrolments.end_enrolment(principal, patient_id, pathway_id))


@router.get(
    "/api/submissions/{resource_type}/{resource_id}/result",
    response_model=shapes.SubmissionResult,
    response_model_exclude_unset=True,
    responses={202: {"model": shapes.Pending, "description": "triage is not done yet"}},
)
def submission_result(
    resource_type: str, resource_id: str, principal: CurrentPrincipal
) -> shapes.SubmissionResult | JSONResponse:
    """The triage result of one submission: pending (202) until triage is done."""
    done = records.submission_result(principal, resource_type, resource_id)
    if done.status == "pending":
        pending = shapes.Pending(status="pending")
        return JSONResponse(pending.model_dump(), status_code=202)
    return shapes.SubmissionResult.of(done)
