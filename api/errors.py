"""Errors as callers expect them: OperationOutcome under /fhir, plain JSON elsewhere.

:func:`error_response` is the one place that chooses an error's shape from the path; the
exception handlers here and the middleware that refuse before the app runs (the body
limit, the rate limit) all answer through it."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, OperationalError
from starlette.requests import ClientDisconnect

from api.auth import bearer_principal
from api.deps import settings_of
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
    status: int, issues: list[OutcomeIssue], headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        operation_outcome(issues), status_code=status, media_type=FHIR_JSON, headers=headers
    )


def issue_code(status: int) -> str:
    """The OperationOutcome issue code of an HTTP error status."""
    return _ISSUE_CODES.get(status, "invalid" if status < 500 else "exception")


def simple_outcome(
    status: int, diagnostics: str, location: str = "", headers: Mapping[str, str] | None = None
) -> JSONResponse:
    issue = OutcomeIssue("error", issue_code(status), diagnostics, location)
    return outcome_response(status, [issue], headers)


def is_fhir(path: str) -> bool:
    """A request under /fhir speaks FHIR: its errors are OperationOutcomes."""
    return path.startswith("/fhir")


def error_response(
    path: str,
    status: int,
    detail: Any,
    *,
    headers: Mapping[str, str] | None = None,
    problems: list[dict[str, str]] | None = None,
    fhir_status: int | None = None,
) -> JSONResponse:
    """The error answer to a request for ``path``: the one place that picks its shape.

    Under /fhir an OperationOutcome (one issue saying ``detail``, or one per problem, with
    its location) with ``fhir_status`` when FHIR answers with another status than the JSON
    API; elsewhere ``{"error": detail}``, with ``"problems"`` when given.
    """
    if is_fhir(path):
        status = fhir_status or status
        if problems is None:
            return simple_outcome(status, str(detail), headers=headers)
        code = issue_code(status)
        issues = [OutcomeIssue("error", code, p["message"], p["location"]) for p in problems]
        return outcome_response(status, issues, headers)
    body: dict[str, Any] = {"error": detail}
    if problems is not None:
        body["problems"] = problems
    return JSONResponse(body, status_code=status, headers=headers)


def takes_bearer(path: str) -> bool:
    """The JSON API and FHIR authenticate with a bearer token (the pages with a cookie)."""
    return path.startswith(("/api/", "/fhir/"))


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
        return error_response(request.url.path, exc.status_code, exc.detail, headers=exc.headers)

    @app.exception_handler(Declined)
    async def declined(request: Request, exc: Declined) -> JSONResponse:
        # A use case said no: the status of its reason, its words as HTTPException's are;
        # a pathway file's problems (FILE:LINE:COL: ...) listed beside them under /api.
        path, status = request.url.path, STATUS[exc.why]
        if exc.problems is None or is_fhir(path):
            return error_response(path, status, exc.text)
        body = {"error": exc.text, "problems": exc.problems}
        return JSONResponse(body, status_code=status)

    @app.exception_handler(OperationalError)
    async def database_busy(request: Request, exc: OperationalError) -> JSONResponse:
        # The database refused for a moment (SQLite's write lock held past its timeout,
        # PostgreSQL restarting): nothing was stored, and the caller should send it again.
        text = "the database is busy; nothing was stored, send it again"
        # The type only: the driver's message may quote the statement's values.
        log.warning("database unavailable (%s); answered 503", type(exc).__name__)
        return error_response(request.url.path, 503, text, headers={"Retry-After": "1"})

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
        return error_response(request.url.path, 400, text)

    @app.exception_handler(RequestValidationError)
    async def validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI parses a body before it runs the token check: a caller without a valid
        # token must learn nothing about what a call expects, so it gets the 401 instead.
        if takes_bearer(request.url.path):
            try:
                bearer_principal(request, settings_of(request))
            except HTTPException as refusal:
                return await http_error(request, refusal)
        problems = [
            {
                "location": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
                "message": err.get("msg", "invalid"),
            }
            for err in exc.errors()
        ]
        # FHIR answers a request that does not parse 400; the JSON API 422.
        return error_response(
            request.url.path, 422, "invalid request", problems=problems, fhir_status=400
        )
