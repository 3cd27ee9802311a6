"""FHIR routes: create (single resources and Bundles), read by id, search, metadata."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session

from api.auth import Author, CurrentPrincipal, Principal, Staff
from api.errors import FHIR_JSON, simple_outcome
from api.fhir_read import router as read_router
from fhir_adapters import parse_json
from store.db import get_engine
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


def _create(request: Request, body: bytes, principal: Principal, rtype: str) -> JSONResponse:
    refused = _not_json(request)
    if refused is not None:
        return refused
    raw = parse_json(body)
    # The session is opened here, in the endpoint's own worker thread, rather than by a
    # generator dependency, which FastAPI enters and leaves in two more thread hops.
    with Session(get_engine(), expire_on_commit=False) as session:
        entry = ingest(
            session,
            raw,
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
def post_bundle(request: Request, body: RawBody, principal: CurrentPrincipal) -> JSONResponse:
    """A transaction (all or nothing) or batch (each entry on its own) Bundle."""
    refused = _not_json(request)
    if refused is not None:
        return refused
    raw = parse_json(body)
    with Session(get_engine(), expire_on_commit=False) as session:
        response = ingest_bundle(session, raw, _caller(principal), _request_id(request))
    return JSONResponse(response, media_type=FHIR_JSON)


@router.post("/Patient")
def post_patient(request: Request, body: RawBody, principal: Staff) -> Any:
    """Register a patient (staff); the same identifier twice is stored once."""
    return _create(request, body, principal, "Patient")


@router.post("/Questionnaire")
def post_questionnaire(request: Request, body: RawBody, principal: Author) -> Any:
    """Publish a questionnaire (author)."""
    return _create(request, body, principal, "Questionnaire")


@router.post("/QuestionnaireResponse")
def post_questionnaire_response(
    request: Request, body: RawBody, principal: CurrentPrincipal
) -> Any:
    """A patient's answers; stored, then triaged asynchronously."""
    return _create(request, body, principal, "QuestionnaireResponse")


@router.post("/Observation")
def post_observation(request: Request, body: RawBody, principal: CurrentPrincipal) -> Any:
    """A home-device reading; stored, then triaged asynchronously."""
    return _create(request, body, principal, "Observation")


router.include_router(read_router)
