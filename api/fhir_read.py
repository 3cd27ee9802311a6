"""FHIR reads: metadata, a resource by id, Patient by identifier, Questionnaire by url.

A patient reads only their own data (anything else is ``403``, whether it exists or not);
staff read answers and readings only of patients in a pathway granted to them, and every
read of patient data by staff is recorded with :func:`api.auth.audit`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlmodel import select

from api.auth import CurrentPrincipal, DbSession, Staff, audit, forbidden
from api.errors import FHIR_JSON, simple_outcome
from api.patients import staff_patient
from store.models import Patient, Resource, utcnow

router = APIRouter()

READABLE = ("QuestionnaireResponse", "Observation", "Questionnaire")
_SEARCH_LIMIT = 100


def _fhir(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, media_type=FHIR_JSON)


def _searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": utcnow().isoformat(),
        "total": len(resources),
        "entry": [
            {
                "fullUrl": f"{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


@router.get("/metadata")
def metadata() -> JSONResponse:
    """The CapabilityStatement: FHIR R4 (4.0.1), the types and interactions supported."""
    create_read = [{"code": "create"}, {"code": "read"}]
    types = [
        {
            "type": "Patient",
            "interaction": [*create_read, {"code": "search-type"}],
            "conditionalCreate": True,
            "searchParam": [{"name": "identifier", "type": "token"}],
        },
        {
            "type": "Questionnaire",
            "interaction": [*create_read, {"code": "search-type"}],
            "conditionalCreate": True,
            "searchParam": [{"name": "url", "type": "uri"}],
        },
        {"type": "QuestionnaireResponse", "interaction": create_read, "conditionalCreate": True},
        {"type": "Observation", "interaction": create_read, "conditionalCreate": True},
    ]
    return _fhir(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2026-01-01",
            "kind": "instance",
            "software": {"name": "behovsstyrt-triage", "version": "0.1.0"},
            "implementation": {"description": "Behovsstyrt poliklinikk – triage"},
            "fhirVersion": "4.0.1",
            "format": ["application/fhir+json", "json"],
            "rest": [
                {
                    "mode": "server",
                    "security": {"description": "OAuth2-style bearer token (JWT)"},
                    "resource": types,
                    "interaction": [{"code": "transaction"}, {"code": "batch"}],
                }
            ],
        }
    )


@router.get("/Patient")
def search_patient(identifier: str, principal: Staff, session: DbSession) -> JSONResponse:
    """Patients by identifier ``SYSTEM|VALUE`` (or a bare value), as a searchset Bundle."""
    system, bar, value = identifier.rpartition("|")
    query = select(Patient).where(Patient.identifier_value == value)
    if bar and system:
        query = query.where(Patient.identifier_system == system)
    rows = list(session.exec(query.limit(_SEARCH_LIMIT)))
    for row in rows:
        audit(session, principal, "search", row.id, target=f"Patient/{row.id}")
    session.commit()
    return _fhir(_searchset([row.resource for row in rows]))


@router.get("/Patient/{patient_id}")
def read_patient(patient_id: str, principal: CurrentPrincipal, session: DbSession) -> Any:
    """A Patient by id: a patient only their own; staff reads are audited."""
    if principal.role == "patient" and principal.patient_id != patient_id:
        raise forbidden()
    row = session.get(Patient, patient_id)
    if row is None:
        return simple_outcome(404, f"Patient/{patient_id} is not known")
    if principal.is_staff:
        audit(session, principal, "read", row.id, target=f"Patient/{row.id}")
        session.commit()
    return _fhir(row.resource)


@router.get("/Questionnaire")
def search_questionnaire(
    principal: CurrentPrincipal, session: DbSession, url: str | None = None
) -> JSONResponse:
    """Questionnaires by canonical url (``url|version`` narrows to one version)."""
    query = select(Resource).where(Resource.resource_type == "Questionnaire")
    version = None
    if url:
        url, _, version = url.partition("|")
        query = query.where(Resource.canonical_url == url)
    rows = session.exec(query.order_by(Resource.received_at).limit(_SEARCH_LIMIT))  # type: ignore[arg-type]
    found = [r.body for r in rows if not version or r.body.get("version") == version]
    return _fhir(_searchset(found))


@router.get("/{rtype}/{resource_id}")
def read_resource(
    rtype: str, resource_id: str, principal: CurrentPrincipal, session: DbSession
) -> Any:
    """A stored resource by id: a patient only their own; staff reads are audited."""
    if rtype not in READABLE:
        return simple_outcome(404, f"{rtype} is not a type this server reads")
    row = session.get(Resource, resource_id)
    if row is not None and row.resource_type != rtype:
        row = None
    patient_may_not = row is None or row.patient_id != principal.patient_id
    if principal.role == "patient" and rtype != "Questionnaire" and patient_may_not:
        raise forbidden()
    if row is None:
        return simple_outcome(404, f"{rtype}/{resource_id} is not known")
    if principal.is_staff and row.patient_id:
        staff_patient(session, principal, row.patient_id)  # 403 outside granted pathways
        audit(session, principal, "read", row.patient_id, target=f"{rtype}/{row.id}")
        session.commit()
    return _fhir(row.body)
