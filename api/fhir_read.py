"""FHIR reads: metadata, a resource by id, its versions (``_history``), Patient by
identifier, Questionnaire by url.

A patient reads only their own data (anything else is ``403``, whether it exists or not);
staff read answers and readings only of patients in a pathway granted to them, and every
read of patient data by staff is recorded with :func:`api.auth.audit`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from sqlmodel import Session, col, select

from api.auth import CurrentPrincipal, DbSession, Principal, Staff, audit, forbidden
from api.errors import FHIR_JSON, simple_outcome
from api.patients import staff_patient
from store.models import Patient, Resource, ResourceVersion, utcnow

router = APIRouter()

READABLE = ("QuestionnaireResponse", "Observation", "Questionnaire")
_SEARCH_LIMIT = 100
HISTORY_PAGE = 50
HISTORY_MAX = 100


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
    versioned = [
        *create_read,
        {"code": "update"},
        {"code": "vread"},
        {"code": "history-instance"},
    ]
    types: list[dict[str, Any]] = [
        {
            "type": "Patient",
            "interaction": [*create_read, {"code": "search-type"}],
            "conditionalCreate": True,
            "searchParam": [{"name": "identifier", "type": "token"}],
        },
        {
            "type": "Questionnaire",
            "interaction": [*versioned, {"code": "search-type"}],
            "versioning": "versioned-update",
            "conditionalCreate": True,
            "conditionalUpdate": True,
            "searchParam": [{"name": "url", "type": "uri"}],
        },
    ]
    types += [
        {
            "type": rtype,
            "interaction": versioned,
            "versioning": "versioned-update",
            "conditionalCreate": True,
            "conditionalUpdate": True,
        }
        for rtype in ("QuestionnaireResponse", "Observation")
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


def _readable(
    session: Session, principal: Principal, rtype: str, resource_id: str
) -> Resource | JSONResponse:
    """The stored resource if this caller may read it (audited for staff), else the answer."""
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
    return row


@router.get("/{rtype}/{resource_id}/_history")
def history(
    rtype: str,
    resource_id: str,
    principal: CurrentPrincipal,
    session: DbSession,
    count: Annotated[int, Query(alias="_count", ge=1, le=HISTORY_MAX)] = HISTORY_PAGE,
    page: Annotated[int, Query(alias="_page", ge=1, le=100_000)] = 1,
) -> Any:
    """Every version of a resource, newest first, as a ``history`` Bundle (``_count`` a
    page, ``_page`` which one; ``link`` next/previous)."""
    row = _readable(session, principal, rtype, resource_id)
    if isinstance(row, JSONResponse):
        return row
    versions = _versions(session, row)
    shown = versions[(page - 1) * count : page * count]
    base = f"/fhir/{rtype}/{resource_id}/_history?_count={count}"
    links = [{"relation": "self", "url": f"{base}&_page={page}"}]
    if page * count < len(versions):
        links.append({"relation": "next", "url": f"{base}&_page={page + 1}"})
    if page > 1:
        links.append({"relation": "previous", "url": f"{base}&_page={page - 1}"})
    if principal.is_staff and row.patient_id:
        audit(session, principal, "history", row.patient_id, target=f"{rtype}/{row.id}")
        session.commit()
    return _fhir(
        {
            "resourceType": "Bundle",
            "type": "history",
            "timestamp": utcnow().isoformat(),
            "total": len(versions),
            "link": links,
            "entry": [_history_entry(rtype, resource_id, body) for body in shown],
        }
    )


@router.get("/{rtype}/{resource_id}/_history/{version_id}")
def read_version(
    rtype: str, resource_id: str, version_id: str, principal: CurrentPrincipal, session: DbSession
) -> Any:
    """One version of a resource (vread)."""
    row = _readable(session, principal, rtype, resource_id)
    if isinstance(row, JSONResponse):
        return row
    found = [b for b in _versions(session, row) if _version_of(b) == version_id]
    if not found:
        return simple_outcome(404, f"{rtype}/{resource_id} has no version {version_id}")
    if principal.is_staff and row.patient_id:
        target = f"{rtype}/{row.id}/_history/{version_id}"
        audit(session, principal, "read", row.patient_id, target=target)
        session.commit()
    headers = {"ETag": f'W/"{version_id}"'}
    return JSONResponse(found[0], media_type=FHIR_JSON, headers=headers)


def _versions(session: Session, row: Resource) -> list[dict[str, Any]]:
    """Every version's body, the current one first."""
    earlier = session.exec(
        select(ResourceVersion.body)
        .where(ResourceVersion.resource_id == row.id)
        .order_by(col(ResourceVersion.version_id).desc())
    ).all()
    return [row.body, *(dict(body) for body in earlier)]


def _version_of(body: dict[str, Any]) -> str:
    return str((body.get("meta") or {}).get("versionId") or "1")


def _history_entry(rtype: str, resource_id: str, body: dict[str, Any]) -> dict[str, Any]:
    version = _version_of(body)
    first = version == "1"
    return {
        "fullUrl": f"{rtype}/{resource_id}",
        "resource": body,
        "request": {
            "method": "POST" if first else "PUT",
            "url": rtype if first else f"{rtype}/{resource_id}",
        },
        "response": {
            "status": "201 Created" if first else "200 OK",
            "etag": f'W/"{version}"',
            "lastModified": (body.get("meta") or {}).get("lastUpdated"),
        },
    }


@router.get("/{rtype}/{resource_id}")
def read_resource(
    rtype: str, resource_id: str, principal: CurrentPrincipal, session: DbSession
) -> Any:
    """A stored resource by id (its current version): a patient only their own; staff
    reads are audited."""
    row = _readable(session, principal, rtype, resource_id)
    if isinstance(row, JSONResponse):
        return row
    if principal.is_staff and row.patient_id:
        audit(session, principal, "read", row.patient_id, target=f"{rtype}/{row.id}")
        session.commit()
    return JSONResponse(row.body, media_type=FHIR_JSON, headers={"ETag": f'W/"{row.version_id}"'})
