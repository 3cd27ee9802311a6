"""Pure ASGI middleware: a body-size limit in front of everything, and a request id with
its access line and request metrics."""

from __future__ import annotations

import logging
import re
import time
import uuid
import weakref
from typing import Any

from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import metrics
from api.errors import error_response
from runtime.logs import request_context

access_log = logging.getLogger("triage.access")


class BodyLimit:
    """Refuse bodies over ``limit`` bytes with 413 before any parsing (FIELD-NOTES: an 11 MB
    Observation takes 1.4 s to validate). Checks Content-Length and counts streamed bytes."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        text = f"the body is larger than the limit of {self.limit} bytes"
        await error_response(scope["path"], 413, text)(scope, receive, send)


class _TooLarge(Exception):
    pass


class RequestId:
    """Give each request an id (``X-Request-ID``, kept if the caller sent a sane one), put it
    in ``scope['state']`` and in the logging context (so every line logged while the request
    is served carries it, and the outbox row keeps it for the worker), echo it in the
    response, and write one access line and the request metrics when the answer is sent.

    The access line names the route TEMPLATE (``/fhir/Patient/{patient_id}``), never the
    raw path or query: ``/fhir/Patient?identifier=...|<national id>`` would leak an id.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = (
            given if given.replace("-", "").isalnum() and len(given) <= 64 else (uuid.uuid4().hex)
        )
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500  # what the server answers when the app raises before answering

        async def with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        with request_context(request_id):
            try:
                await self.app(scope, receive, with_id)
            finally:
                _access(scope, status, time.perf_counter() - started)


def _access(scope: Scope, status: int, seconds: float) -> None:
    method = str(scope.get("method", ""))
    route = route_template(scope)
    metrics.observe_request(method, route, status, seconds)
    access_log.info(
        "%s %s %d",
        method,
        route,
        status,
        extra={
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
        },
    )


def route_template(scope: Scope) -> str:
    """The path template of the route that served the request (``{path}`` for a mounted
    app); for a request refused before routing (the body limit), the documented route it
    was for; ``unmatched`` when no route knows the path."""
    route = scope.get("route")
    if route is None:
        return _documented_route(scope) or "unmatched"
    # FastAPI serves an included router's route through an "effective" copy that knows the
    # prefix; the route object itself has the path as written in its router.
    effective = (scope.get("fastapi") or {}).get("effective_route_context")
    path = getattr(getattr(effective, "starlette_route", None), "path_format", None)
    path = path or getattr(effective, "path_format", None) or getattr(route, "path", None)
    if not isinstance(path, str):
        return "unmatched"
    if isinstance(route, Mount) and not path.endswith("}"):
        return f"{path}/{{path}}"
    return path or "/"


def _documented_route(scope: Scope) -> str | None:
    """Match the path against the OpenAPI paths (the most literal template wins)."""
    app = scope.get("app")
    if app is None or not hasattr(app, "openapi"):
        return None
    table = _OPENAPI_TABLES.get(app)
    if table is None:
        table = []
        for template, operations in app.openapi().get("paths", {}).items():
            regex = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
            literal = sum(1 for part in template.split("/") if part and "{" not in part)
            methods = {method.upper() for method in operations}
            table.append((-literal, template, re.compile(f"^{regex}$"), methods))
        table.sort(key=lambda row: (row[0], row[1]))
        _OPENAPI_TABLES[app] = table
    path, method = str(scope.get("path", "")), str(scope.get("method", ""))
    for _, template, pattern, methods in table:
        if method in methods and pattern.match(path):
            return template
    return None


_Table = list[tuple[int, str, re.Pattern[str], set[str]]]
_OPENAPI_TABLES: weakref.WeakKeyDictionary[Any, _Table] = weakref.WeakKeyDictionary()
