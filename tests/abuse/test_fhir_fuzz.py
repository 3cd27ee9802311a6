"""FHIR bodies fuzzed from valid samples, posted by a patient and by a clinician to
/fhir/Observation, /fhir/QuestionnaireResponse and /fhir (a transaction Bundle).

The bodies are valid samples mutated by hypothesis (tests/abuse/fuzz_bodies.py): wrong
types, missing elements, bodies near and over the limit, deep nesting, odd unicode, extreme
numbers, duplicate keys, a wrong resourceType, a wrong subject.

Property: every answer is 2xx (what it says was created is stored once, with an outbox row,
and nothing else changed) or 4xx with an OperationOutcome carrying an error and its text (and
no table changed at all); never 5xx.
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from sqlmodel import col, select

from runtime.settings import get_settings
from store.db import session_scope
from store.models import Outbox, Reading, Resource
from tests.abuse.fuzz_bodies import FRESH, bases, bodies, paths_of, set_at, value_at
from tests.abuse.world import OTHER_PATHWAY, World, bearer, row_counts, token

# A small body limit: bodies near and over it stay cheap to build and to send.
EXTRA_ENV = {"MAX_BODY_BYTES": "65536"}
EXAMPLES = 50  # per endpoint and caller: 300 in all
CALLERS = ("patient", "clinician")
ENDPOINTS = ("/fhir/Observation", "/fhir/QuestionnaireResponse", "/fhir")
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


# --- the property ---------------------------------------------------------------------------


def _is_outcome_with_error(body: Any) -> bool:
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return False
    return any(
        issue.get("severity") in ("error", "fatal")
        and (issue.get("diagnostics") or (issue.get("details") or {}).get("text"))
        for issue in body.get("issue") or []
    )


def _stored_once_with_outbox(resource_id: str) -> int | None:
    """Check the stored row; return its outbox id."""
    with session_scope() as session:
        row = session.get(Resource, resource_id)
        assert row is not None, f"{resource_id} was answered as stored but is not"
        outbox = session.get(Outbox, row.outbox_id) if row.outbox_id is not None else None
        assert outbox is not None and resource_id in outbox.resource_ids, resource_id
        values = session.exec(
            select(Reading.value).where(col(Reading.resource_id) == resource_id)
        ).all()
        assert all(math.isfinite(v) for v in values), (resource_id, values)
        return outbox.id


def _answered(endpoint: str, status: int, body: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(type, id, created) for each resource a 2xx answer says is stored."""
    if endpoint != "/fhir":
        return [(body["resourceType"], body["id"], status == 201)]
    assert body["resourceType"] == "Bundle" and body["type"].endswith("-response"), body
    found = []
    for entry in body["entry"]:
        status_text = entry["response"]["status"]
        if status_text.startswith(("200", "201")):
            rtype, rid = entry["response"]["location"].split("/")[:2]
            found.append((rtype, rid, status_text.startswith("201")))
    return found


def check_answer(client: TestClient, endpoint: str, payload: bytes, headers: dict[str, str]) -> int:
    before = row_counts()
    response = client.post(
        endpoint, content=payload, headers={**headers, "Content-Type": "application/fhir+json"}
    )
    after = row_counts()
    status = response.status_code
    context = f"{status} for {payload[:300]!r}...: {response.text[:500]}"
    assert status < 500, context
    assert (status == 413) == (len(payload) > get_settings().max_body_bytes), context
    body = response.json()
    if status >= 400:
        assert status < 500 and _is_outcome_with_error(body), context
        assert after == before, f"a refused request changed {_changed(before, after)}: {context}"
        return status
    assert status in (200, 201), context
    stored = _answered(endpoint, status, body)
    patients = sum(created for rtype, _, created in stored if rtype == "Patient")
    data = [(rid, created) for rtype, rid, created in stored if rtype != "Patient"]
    outboxes = {_stored_once_with_outbox(rid) for rid, created in data if created}
    for rid, _ in data:
        _stored_once_with_outbox(rid)
    assert after["Patient"] - before["Patient"] == patients, context
    assert after["Resource"] - before["Resource"] == sum(c for _, c in data), context
    assert after["Outbox"] - before["Outbox"] == len(outboxes), context
    # Nothing but the data, its readings and its outbox rows changes on an upload.
    others = set(after) - {"Resource", "Patient", "Reading", "Outbox"}
    assert {k: after[k] for k in others} == {k: before[k] for k in others}, context
    return status


def _changed(before: dict[str, int], after: dict[str, int]) -> dict[str, tuple[int, int]]:
    return {k: (before[k], after[k]) for k in before if before[k] != after[k]}


def _headers(world: World, caller: str) -> dict[str, str]:
    if caller == "patient":
        return world.headers("patient")
    return bearer(token("clinician", pathways=[OTHER_PATHWAY]))


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_fuzzed_bodies_are_stored_whole_or_refused_whole(
    client: TestClient, world: World, endpoint: str, caller: str
) -> None:
    limit = get_settings().max_body_bytes
    assert limit == int(EXTRA_ENV["MAX_BODY_BYTES"])
    headers = _headers(world, caller)
    seen: set[int] = set()

    @FUZZ_SETTINGS
    @given(payload=bodies(world, endpoint, limit))
    def post(payload: bytes) -> None:
        seen.add(check_answer(client, endpoint, payload, headers))

    post()
    # The fuzzer reached both sides of the property: some accepted, some refused.
    assert any(s < 300 for s in seen) and any(s >= 400 for s in seen), seen


# Appended to a string as JSON text: lone surrogates can only be sent escaped.
ODD_SUFFIXES = ("\\u0000", "\\ud800", "\\ud83d\\ude00", "\\u202e\\u05e9")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_odd_unicode_in_every_string_of_every_sample(
    client: TestClient, world: World, endpoint: str
) -> None:
    """Each string of each valid sample in turn gets NUL, a lone surrogate, an astral
    character and right-to-left text: the random search above reaches few of them."""
    headers = _headers(world, "clinician")
    seen: set[int] = set()
    for base in bases(world, endpoint, serial=7):
        strings = [p for p in paths_of(base) if isinstance(value_at(base, p), str)]
        for index, path in enumerate(strings):
            for suffix in ODD_SUFFIXES:
                marker = f"\u2063{index}\u2063"
                doc = set_at(copy.deepcopy(base), path, value_at(base, path) + marker)
                if path[-1] == "value" and "identifier" in path:
                    doc = set_at(doc, path, f"{value_at(base, path)}-{next(FRESH)}{marker}")
                text = json.dumps(doc, ensure_ascii=False).replace(marker, suffix)
                seen.add(check_answer(client, endpoint, text.encode(), headers))
    assert any(s < 300 for s in seen) and any(s >= 400 for s in seen), seen
