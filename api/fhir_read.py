"""FHIR reads over HTTP: metadata, a resource by id, its versions (``_history``), Patient by
identifier, Questionnaire by url.

Who may read what, the queries, paging and the audit of staff reads are
:mod:`usecases.fhir_read`'s; here the request is parsed and what it found is rendered as
FHIR JSON (a refusal becomes an OperationOutcome through :mod:`api.errors`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from api.auth import CurrentPrincipal, Staff
from api.errors import FHIR_JSON
from usecases import fhir_read as reads
from usecases.fhir_read import HISTORY_MAX, HISTORY_PAGE, version_of

router = APIRouter()


def _fhir(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, media_type=FHIR_JSON, headers=headers)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": _now(),
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
def search_patient(identifier: str, principal: Staff) -> JSONResponse:
    """Patients by identifier ``SYSTEM|VALUE`` (or a bare value), as a searchset Bundle."""
    return _fhir(_searchset(reads.search_patients(principal, identifier)))


@router.get("/Patient/{patient_id}")
def read_patient(patient_id: str, principal: CurrentPrincipal) -> Any:
    """A Patient by id: a patient only their own; staff reads are audited."""
    return _fhir(reads.read_patient(principal, patient_id))


@router.get("/Questionnaire")
def search_questionnaire(principal: CurrentPrincipal, url: str | None = None) -> JSONResponse:
    """Questionnaires by canonical url (``url|version`` narrows to one version)."""
    return _fhir(_searchset(reads.search_questionnaires(url)))


@router.get("/{rtype}/{resource_id}/_history")
def history(
    rtype: str,
    resource_id: str,
    principal: CurrentPrincipal,
    count: Annotated[int, Query(alias="_count", ge=1, le=HISTORY_MAX)] = HISTORY_PAGE,
    page: Annotated[int, Query(alias="_page", ge=1, le=100_000)] = 1,
) -> Any:
    """Every version of a resource, newest first, as a ``history`` Bundle (``_count`` a
    page, ``_page`` which one; ``link`` next/previous)."""
    found = reads.history(principal, rtype, resource_id, count, page)
    base = f"/fhir/{rtype}/{resource_id}/_history?_count={count}"
    links = [{"relation": "self", "url": f"{base}&_page={page}"}]
    if found.has_next:
        links.append({"relation": "next", "url": f"{base}&_page={page + 1}"})
    if found.has_previous:
        links.append({"relation": "previous", "url": f"{base}&_page={page - 1}"})
    return _fhir(
        {
            "resourceType": "Bundle",
            "type": "history",
            "timestamp": _now(),
            "total": found.total,
            "link": links,
            "entry": [_history_entry(rtype, resource_id, body) for body in found.versions],
        }
    )


@router.get("/{rtype}/{resource_id}/_history/{version_id}")
def read_version(rtype: str, resource_id: str, version_id: str, principal: CurrentPrincipal) -> Any:
    """One version of a resource (vread)."""
    body = reads.vread(principal, rtype, resource_id, version_id)
    return _fhir(body, headers={"ETag": f'W/"{version_id}"'})


def _history_entry(rtype: str, resource_id: str, body: dict[str, Any]) -> dict[str, Any]:
    version = version_of(body)
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
def read_resource(rtype: str, resource_id: str, principal: CurrentPrincipal) -> Any:
    """A stored resource by id (its current version): a patient only their own; staff
    reads are audited."""
    found = reads.read(principal, rtype, resource_id)
    return _fhir(found.body, headers={"ETag": f'W/"{found.version_id}"'})
