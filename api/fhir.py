"""FHIR routes: create (single resources and Bundles), read by id, search, metadata."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from api.auth import Author, CurrentPrincipal, DbSession, Principal, Staff
from api.errors import FHIR_JSON, simple_outcome
from api.fhir_read import router as read_router
from fhir_adapters import parse_json
from store.ingest import Caller, Entry, ingest
from store.ingest_bundle import ingest_bundle

router = APIRouter(prefix="/fhir", tags=["fhir"])

_JSON_TYPES = ("application/fhir+json", "application/json", "text/json")


async def _body(request: Request) -> bytes:
    return await request.body()


RawBody = Annotated[bytes, Depends(_body)]


def _caller(principal: Principal) -> Caller:
    return Caller(
        patient_id=principal.patient_id if principal.role == "patient" else None,
        staff=principal.is_staff,
        author=principal.role == "author",
    )


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def _not_json(request: Request) -> JSONResponse | None:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype and ctype not in _JSON_TYPES and not ctype.endswith("+json"):
        return simple_outcome(415, f"send FHIR JSON (application/fhir+json), not {ctype}")
    return None


def _create(
    request: Request, body: bytes, principal: Principal, session: Any, rtype: str
) -> JSONResponse:
    refused = _not_json(request)
    if refused is not None:
        return refused
    entry = ingest(
        session,
        parse_json(body),
        rtype,
        _caller(principal),
        if_none_exist=request.headers.get("if-none-exist"),
        request_id=_request_id(request),
    )
    return _stored(entry)


def _stored(entry: Entry) -> JSONResponse:
    headers = {"Location": f"/fhir/{entry.rtype}/{entry.id}", "ETag": 'W/"1"'}
    last = (entry.body.get("meta") or {}).get("lastUpdated")
    if last:
        headers["Last-Modified"] = str(last)
    return JSONResponse(
        entry.body, status_code=201 if entry.created else 200, media_type=FHIR_JSON, headers=headers
    )


@router.post("")
def post_bundle(
    request: Request, body: RawBody, principal: CurrentPrincipal, session: DbSession
) -> JSONResponse:
    """A transaction (all or nothing) or batch (each entry on its own) Bundle."""
    refused = _not_json(request)
    if refused is not None:
        return refused
    response = ingest_bundle(session, parse_json(body), _caller(principal), _request_id(request))
    return JSONResponse(response, media_type=FHIR_JSON)


@router.post("/Patient")
def post_patient(request: Request, body: RawBody, principal: Staff, session: DbSession) -> Any:
    """Register a patient (staff); the same identifier twice is stored once."""
    return _create(request, body, principal, session, "Patient")


@router.post("/Questionnaire")
def post_questionnaire(
    request: Request, body: RawBody, principal: Author, session: DbSession
) -> Any:
    """Publish a questionnaire (author)."""
    return _create(request, body, principal, session, "Questionnaire")


@router.post("/QuestionnaireResponse")
def post_questionnaire_response(
    request: Request, body: RawBody, principal: CurrentPrincipal, session: DbSession
) -> Any:
    """A patient's answers; stored, then triaged asynchronously."""
    return _create(request, body, principal, session, "QuestionnaireResponse")


@router.post("/Observation")
def post_observation(
    request: Request, body: RawBody, principal: CurrentPrincipal, session: DbSession
) -> Any:
    """A home-device reading; stored, then triaged asynchronously."""
    return _create(request, body, principal, session, "Observation")


router.include_router(read_router)
