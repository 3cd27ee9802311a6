"""FHIR routes: create (single resources and Bundles), correct (PUT), read by id, history,
search, metadata."""

from __future__ import annotations

import http
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from api.auth import Author, CurrentPrincipal, Principal, Staff
from api.errors import FHIR_JSON, simple_outcome, status_of
from api.fhir_read import router as read_router
from api.fhir_tasks import router as task_router
from fhir_adapters import operation_outcome, parse_json
from store.models import utcnow
from usecases.errors import Refused
from usecases.ingest.bundle import BundleOutcome, ingest_bundle
from usecases.ingest.correct import CORRECTABLE, correct
from usecases.ingest.prepare import INGESTED
from usecases.ingest.upload import Caller, Entry, ingest

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
    if not ctype:
        # Without a type nobody knows what the bytes are; guessing has hidden mistakes.
        return simple_outcome(415, "send FHIR JSON with Content-Type: application/fhir+json")
    if ctype not in _JSON_TYPES and not ctype.endswith("+json"):
        return simple_outcome(415, f"send FHIR JSON (application/fhir+json), not {ctype}")
    return None


def _create(request: Request, body: bytes, principal: Principal, rtype: str) -> JSONResponse:
    refused = _not_json(request)
    if refused is not None:
        return refused
    raw = parse_json(body)
    # The use case opens its session here, in the endpoint's own worker thread, rather
    # than a generator dependency, which FastAPI enters and leaves in two more thread hops.
    entry = ingest(
        raw,
        rtype,
        _caller(principal),
        if_none_exist=request.headers.get("if-none-exist"),
        request_id=_request_id(request),
    )
    return _stored(entry)


def _stored(entry: Entry) -> JSONResponse:
    meta = entry.body.get("meta") or {}
    version = str(meta.get("versionId") or "1")
    headers = {
        "Location": f"/fhir/{entry.rtype}/{entry.id}",
        "Content-Location": f"/fhir/{entry.rtype}/{entry.id}/_history/{version}",
        "ETag": f'W/"{version}"',
    }
    if meta.get("lastUpdated"):
        headers["Last-Modified"] = str(meta["lastUpdated"])
    status = 201 if entry.created else 200
    return JSONResponse(entry.body, status_code=status, media_type=FHIR_JSON, headers=headers)


def _put(
    request: Request,
    body: bytes,
    principal: Principal,
    rtype: str,
    resource_id: str | None = None,
    identifier: str | None = None,
) -> JSONResponse:
    if rtype not in CORRECTABLE:
        if rtype in INGESTED:
            text = f"{rtype} is not corrected by PUT here; PUT takes {', '.join(CORRECTABLE)}"
            return simple_outcome(405, text)
        return simple_outcome(404, f"{rtype} is not a type this server stores")
    refused = _not_json(request)
    if refused is not None:
        return refused
    raw = parse_json(body)

    done = correct(
        raw,
        rtype,
        _caller(principal),
        resource_id=resource_id,
        identifier=identifier,
        if_match=request.headers.get("if-match"),
        request_id=_request_id(request),
        actor=principal,
    )
    return _stored(done.entry)


@router.post("")
def post_bundle(request: Request, body: RawBody, principal: CurrentPrincipal) -> JSONResponse:
    """A transaction (all or nothing) or batch (each entry on its own) Bundle."""
    refused = _not_json(request)
    if refused is not None:
        return refused
    raw = parse_json(body)
    done = ingest_bundle(raw, _caller(principal), _request_id(request))
    return JSONResponse(_bundle_response(done), media_type=FHIR_JSON)


def _bundle_response(done: BundleOutcome) -> dict[str, Any]:
    """The transaction-response or batch-response Bundle: each entry's status, and where
    it was stored or the OperationOutcome of why not."""
    out: list[dict[str, Any]] = []
    for result in done.results:
        if isinstance(result, Refused):
            status = status_of(result)
            line = f"{status} {http.HTTPStatus(status).phrase}"
            out.append({"response": {"status": line, "outcome": operation_outcome(result.issues)}})
            continue
        meta = result.body.get("meta") or {}
        version = str(meta.get("versionId") or "1")
        out.append(
            {
                "fullUrl": f"{result.rtype}/{result.id}",
                "response": {
                    "status": "201 Created" if result.created else "200 OK",
                    "location": f"{result.rtype}/{result.id}/_history/{version}",
                    "etag": f'W/"{version}"',
                    "lastModified": meta.get("lastUpdated", utcnow().isoformat()),
                },
            }
        )
    kind = f"{done.kind}-response"
    return {"resourceType": "Bundle", "type": kind, "timestamp": utcnow().isoformat(), "entry": out}


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


@router.put("/{rtype}/{resource_id}")
def put_resource(
    rtype: str, resource_id: str, request: Request, body: RawBody, principal: CurrentPrincipal
) -> Any:
    """A correction: the next version of a stored resource (``entered-in-error`` withdraws it)."""
    return _put(request, body, principal, rtype, resource_id=resource_id)


@router.put("/{rtype}")
def put_by_identifier(
    rtype: str,
    request: Request,
    body: RawBody,
    principal: CurrentPrincipal,
    identifier: Annotated[str | None, Query(max_length=1000)] = None,
) -> Any:
    """A correction of the resource with ``identifier=SYSTEM|VALUE`` (created if none)."""
    if rtype in CORRECTABLE and not identifier:
        text = f"name the {rtype} to correct: PUT /fhir/{rtype}/{{id}} or ?identifier=SYSTEM|VALUE"
        return simple_outcome(400, text, "identifier")
    return _put(request, body, principal, rtype, identifier=identifier)


router.include_router(task_router)  # before /{rtype}/{id}, which would refuse Task
router.include_router(read_router)
