"""Errors as callers expect them: OperationOutcome under /fhir, plain JSON under /api."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, OperationalError
from starlette.requests import ClientDisconnect

from api.auth import bearer_principal
from fhir_adapters import FhirInputError, OutcomeIssue, operation_outcome
from usecases.errors import Declined, Why, why_of

log = logging.getLogger(__name__)
FHIR_JSON = "application/fhir+json"
CLIENT_CLOSED = 499  # nginx's "client closed request": logged, never received

_ISSUE_CODES = {
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    413: "too-long",
    415: "not-supported",
    429: "throttled",
    503: "transient",
}


# The HTTP status of each reason a use case refuses for.
STATUS: dict[Why, int] = {
    Why.INVALID: 400,
    Why.FORBIDDEN: 403,
    Why.NOT_FOUND: 404,
    Why.NOT_ALLOWED: 405,
    Why.CONFLICT: 409,
    Why.STALE: 412,
    Why.UNPROCESSABLE: 422,
}


def status_of(exc: FhirInputError) -> int:
    """The HTTP status of refused FHIR input (400 when it did not parse or validate)."""
    return STATUS[why_of(exc)]


def outcome_response(
    status: int, issues: list[OutcomeIssue], headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        operation_outcome(issues), status_code=status, media_type=FHIR_JSON, headers=headers
    )


def simple_outcome(
    status: int, diagnostics: str, location: str = "", headers: dict[str, str] | None = None
) -> JSONResponse:
    code = _ISSUE_CODES.get(status, "invalid" if status < 500 else "exception")
    return outcome_response(status, [OutcomeIssue("error", code, diagnostics, location)], headers)


def _is_fhir(request: Request) -> bool:
    return request.url.path.startswith("/fhir")


def install(app: FastAPI) -> None:
    """Register the handlers that turn errors into the right shape of answer."""

    @app.exception_handler(FhirInputError)
    async def fhir_input(request: Request, exc: FhirInputError) -> JSONResponse:
        return JSONResponse(
            exc.to_operation_outcome(),
            status_code=status_of(exc),
            media_type=FHIR_JSON,
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if _is_fhir(request):
            return simple_outcome(exc.status_code, str(exc.detail), headers=headers)
        body: dict[str, Any] = {"error": exc.detail}
        return JSONResponse(body, status_code=exc.status_code, headers=headers)

    @app.exception_handler(Declined)
    async def declined(request: Request, exc: Declined) -> JSONResponse:
        # A use case said no: the status of its reason, its words as HTTPException's are.
        if _is_fhir(request):
            return simple_outcome(STATUS[exc.why], exc.text)
        body: dict[str, Any] = {"error": exc.text}
        if exc.problems is not None:
            body["problems"] = exc.problems
        return JSONResponse(body, status_code=STATUS[exc.why])

    @app.exception_handler(OperationalError)
    async def database_busy(request: Request, exc: OperationalError) -> JSONResponse:
        # The database refused for a moment (SQLite's write lock held past its timeout,
        # PostgreSQL restarting): nothing was stored, and the caller should send it again.
        headers = {"Retry-After": "1"}
        text = "the database is busy; nothing was stored, send it again"
        # The type only: the driver's message may quote the statement's values.
        log.warning("database unavailable (%s); answered 503", type(exc).__name__)
        if _is_fhir(request):
            return simple_outcome(503, text, headers=headers)
        return JSONResponse({"error": text}, status_code=503, headers=headers)

    @app.exception_handler(ClientDisconnect)
    async def client_left(request: Request, exc: ClientDisconnect) -> Response:
        # The caller hung up before its body had arrived (a phone losing its network, a load
        # generator stopping): nothing was read, so nothing was stored, and nobody is left
        # to answer. 499, as proxies log it, and no error with a stack for operations.
        log.info("client closed the connection before its body arrived; nothing stored")
        return Response(status_code=CLIENT_CLOSED)

    @app.exception_handler(DataError)
    async def unstorable(request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value the caller sent (PostgreSQL: a NUL character in a
        # path, query or form field): the caller's mistake, and the statement stored nothing.
        text = "a value in the request cannot be stored or searched (such as a NUL character)"
        if _is_fhir(request):
            return simple_outcome(400, text)
        return JSONResponse({"error": text}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI parses a body before it runs the token check: a caller without a valid
        # token must learn nothing about what a call expects, so it gets the 401 instead.
        if request.url.path.startswith(("/api/", "/fhir/")):
            try:
                bearer_principal(request)
            except HTTPException as refusal:
                return await http_error(request, refusal)
        problems = [
            {
                "location": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
                "message": err.get("msg", "invalid"),
            }
            for err in exc.errors()
        ]
        if _is_fhir(request):
            issues = [
                OutcomeIssue("error", "invalid", p["message"], p["location"]) for p in problems
            ]
            return outcome_response(400, issues)
        return JSONResponse({"error": "invalid request", "problems": problems}, status_code=422)
