"""Check an answer against what the service's own OpenAPI document promises for that route
and status, as a client generated from ``/openapi.json`` would read it."""

from __future__ import annotations

from functools import cache
from typing import Any

import httpx
from jsonschema import Draft202012Validator

from api.app import create_app


@cache
def _document() -> dict[str, Any]:
    return create_app().openapi()


def assert_documented(method: str, route: str, answer: httpx.Response) -> None:
    """``route`` is the path template (``/api/worklist/{item_id}/override``)."""
    document = _document()
    responses = document["paths"][route][method.lower()]["responses"]
    promised = responses.get(str(answer.status_code))
    assert promised is not None, f"{method} {route} answered {answer.status_code}, undocumented"
    schema = promised["content"]["application/json"]["schema"]
    validator = Draft202012Validator({**schema, "components": document["components"]})
    problems = [
        f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(answer.json())
    ]
    assert not problems, f"{method} {route} {answer.status_code} breaks its schema: {problems[:5]}"
