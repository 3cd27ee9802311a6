"""FHIR bodies fuzzed from valid samples, posted by a patient and by a clinician to
/fhir/Observation, /fhir/QuestionnaireResponse and /fhir (a transaction Bundle).

Mutations: wrong types at any path, missing elements, strings near and over the body limit,
deep nesting, unicode (astral, right-to-left, NUL, lone surrogates escaped in the JSON),
extreme numbers (1e308, -1e308, 1e-320, 400-digit integers, NaN/Infinity literals),
duplicate keys, a wrong resourceType, a wrong subject.

Property: every answer is 2xx (what it says was created is stored once, with an outbox row,
and nothing else changed) or 4xx with an OperationOutcome carrying an error and its text (and
no table changed at all); never 5xx.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from fhir_adapters.norwegian_id import control_digits
from runtime.settings import get_settings
from store.db import session_scope
from store.models import Outbox, Reading, Resource
from tests.abuse.world import (
    OTHER_PATHWAY,
    READING_SAMPLE,
    RESPONSE_SAMPLE,
    World,
    bearer,
    row_counts,
    token,
)
from tests.integration.fhir_helpers import fnr_patient, sample, weight

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


# --- valid starting points ------------------------------------------------------------------


_FRESH = itertools.count()


def _bases(world: World, endpoint: str, serial: int) -> list[dict[str, Any]]:
    """Valid bodies for ``endpoint`` about the seeded patient (fresh identifiers)."""
    ident = {"system": "urn:test:fuzz", "value": f"fuzz-{next(_FRESH)}"}
    ref = f"Patient/{world.patient}"
    if endpoint == "/fhir/Observation":
        pressure = sample(READING_SAMPLE, world.patient)
        glucose = sample("Observation-glucose-mgdl.json", world.patient)
        return [pressure, glucose, weight(ref, serial % 60, ident=ident["value"])]
    if endpoint == "/fhir/QuestionnaireResponse":
        answers = sample(RESPONSE_SAMPLE, world.patient)
        answers["identifier"] = ident
        return [answers]
    answers = sample(RESPONSE_SAMPLE, world.patient)
    answers["identifier"] = ident
    own = _transaction([answers, sample(READING_SAMPLE, world.patient)])
    # A new patient and a reading for it in one transaction (staff only).
    new = _transaction(
        [fnr_patient(_fnr(serial)), weight("urn:uuid:fuzz-new-patient", 1)],
        full_urls=["urn:uuid:fuzz-new-patient", None],
    )
    return [own, new]


def _fnr(serial: int) -> str:
    """A synthetic fødselsnummer (month + 80) chosen by ``serial``, not by ``random``."""
    for n in range(serial, serial + 1000):
        nine = f"{n % 28 + 1:02d}{n % 12 + 81:02d}{n % 100:02d}{n % 500:03d}"
        digits = control_digits(nine)
        if digits is not None:
            return f"{nine}{digits[0]}{digits[1]}"
    raise AssertionError("no valid number near this serial")


def _transaction(
    resources: list[dict[str, Any]], full_urls: list[str | None] | None = None
) -> dict[str, Any]:
    urls = full_urls or [None] * len(resources)
    entries = []
    for resource, url in zip(resources, urls, strict=True):
        entry: dict[str, Any] = {
            "resource": resource,
            "request": {"method": "POST", "url": resource["resourceType"]},
        }
        if url:
            entry["fullUrl"] = url
        entries.append(entry)
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


# --- mutations ------------------------------------------------------------------------------

Path = tuple[str | int, ...]


def _paths(value: Any, prefix: Path = ()) -> Iterator[Path]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


def _get(doc: Any, path: Path) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def _set(doc: Any, path: Path, value: Any) -> Any:
    if not path:
        return value
    _get(doc, path[:-1])[path[-1]] = value
    return doc


def _delete(doc: Any, path: Path) -> Any:
    if not path:
        return {}
    parent = _get(doc, path[:-1])
    del parent[path[-1]]
    return doc


def _is_resource(value: Any) -> bool:
    return isinstance(value, dict) and "resourceType" in value


ODD_TEXT = st.sampled_from(
    [
        "\U0001f600\U00010348",  # astral plane
        "\u202eksirma\u202c",  # right-to-left override
        "\u05e9\u05dc\u05d5\u05dd",  # Hebrew (right to left)
        "a\x00b",  # NUL
        "\x00",
        "\x07\x1b",  # other control characters
        "\ufeff",  # byte order mark
        "",
        " ",
    ]
)
ODD_NUMBERS = st.sampled_from([1e308, -1e308, 1e-320, 5e-324, 10**400, -(10**400), 2**63, 0])
OTHER_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    ODD_TEXT,
    ODD_NUMBERS,
    st.just([]),
    st.just({}),
    st.just([{"x": 1}]),
    st.just({"reference": "Patient/x"}),
)
RESOURCE_TYPES = st.sampled_from(
    ["Patient", "Bundle", "Observation", "QuestionnaireResponse", "Smoothie", "", "observation"]
)


@st.composite
def _tree_mutation(draw: st.DrawFn, doc: Any) -> Any:
    """One change to the parsed document."""
    paths = list(_paths(doc))
    path = draw(st.sampled_from(paths))
    kinds = ["type", "delete", "text", "text", "number", "nest", "resourceType", "subject"]
    kind = draw(st.sampled_from(kinds))
    if kind == "type":
        return _set(doc, path, draw(OTHER_VALUES))
    if kind == "delete":
        return _delete(doc, path)
    if kind == "text":
        # Into an existing string, so that the rest of the value may still be valid.
        strings = [p for p in paths if isinstance(_get(doc, p), str)] or [path]
        where = draw(st.sampled_from(strings))
        value = _get(doc, where)
        odd = draw(ODD_TEXT)
        if isinstance(value, str) and draw(st.booleans()):
            odd = value + odd
        return _set(doc, where, odd)
    if kind == "number":
        return _set(doc, path, draw(ODD_NUMBERS))
    if kind == "nest":
        depth = draw(st.sampled_from([2, 30, 150]))
        wrapped = _get(doc, path)
        for level in range(depth):
            wrapped = [wrapped] if level % 2 else {"x": wrapped}
        return _set(doc, path, wrapped)
    resources = [p for p in paths if _is_resource(_get(doc, p))]
    if not resources:
        return doc
    holder = draw(st.sampled_from(resources))
    if kind == "resourceType":
        _get(doc, holder)["resourceType"] = draw(RESOURCE_TYPES)
        return doc
    subjects = [
        "Patient/p-does-not-exist",
        "Patient/",
        "Group/1",
        "urn:uuid:fuzz-new-patient",
        "http://elsewhere.example/Patient/1",
        "Patient/../Patient/x",
    ]
    subject = draw(st.sampled_from(subjects))
    _get(doc, holder)["subject"] = {"reference": subject}
    return doc


@st.composite
def _text_mutation(draw: st.DrawFn, text: str, world: World, limit: int) -> str:
    """One change to the serialized JSON, for what a parsed document cannot hold."""
    kind = draw(st.sampled_from(["literal", "surrogate", "duplicate", "pad", "deep", "subject"]))
    values = [m.end() - 1 for m in re.finditer(r'"[^"\\]*"(?=[,}\]])', text)]
    if kind == "literal":
        numbers = list(re.finditer(r"(?<=: )-?\d+(\.\d+)?([eE][-+]?\d+)?(?=[,}\]])", text))
        if numbers:
            hit = draw(st.sampled_from(numbers))
            literal = draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-0", "01"]))
            return text[: hit.start()] + literal + text[hit.end() :]
        return text
    if kind == "surrogate" and values:
        where = draw(st.sampled_from(values))
        lone = draw(st.sampled_from(["\\ud800", "\\udfff", "\\ud83d", "\\ud83d\\ude00"]))
        return text[:where] + lone + text[where:]
    if kind == "duplicate" and text.endswith("}"):
        key = draw(st.sampled_from(["resourceType", "subject", "status", "type", "entry"]))
        value = draw(
            st.sampled_from(['"Patient"', '{"reference": "Patient/x"}', '"final"', "null", "[]"])
        )
        # The duplicate comes last: a parser that keeps the last value sees this one.
        return text[:-1] + f', "{key}": {value}' + "}"
    if kind == "pad" and values:
        # Near and over the body limit: the padding goes into one string value.
        where = draw(st.sampled_from(values))
        target = limit + draw(st.integers(-64, 64))
        fill = max(0, target - len(text.encode("utf-8", errors="surrogatepass")))
        return text[:where] + "x" * fill + text[where:]
    if kind == "deep" and values:
        where = draw(st.sampled_from(values))
        start = text.rfind('"', 0, where)
        depth = draw(st.sampled_from([64, 500, 5000]))
        return text[:start] + "[" * depth + "1" + "]" * depth + text[where + 1 :]
    old, new = f'"Patient/{world.patient}"', f'"Patient/{world.other}"'
    return text.replace(old, new)


@st.composite
def bodies(draw: st.DrawFn, world: World, endpoint: str, limit: int) -> bytes:
    serial = draw(st.integers(0, 10**6))
    doc: Any = copy.deepcopy(draw(st.sampled_from(_bases(world, endpoint, serial))))
    # Mostly one change: two or more mostly hide each other behind the first refusal.
    for _ in range(draw(st.sampled_from([1, 1, 1, 0, 2]))):
        doc = draw(_tree_mutation(doc))
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()))
    if draw(st.sampled_from([False, False, True])):
        text = draw(_text_mutation(text, world, limit))
    return text.encode("utf-8", errors="surrogatepass")


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
    for base in _bases(world, endpoint, serial=7):
        strings = [p for p in _paths(base) if isinstance(_get(base, p), str)]
        for index, path in enumerate(strings):
            for suffix in ODD_SUFFIXES:
                marker = f"\u2063{index}\u2063"
                doc = _set(copy.deepcopy(base), path, _get(base, path) + marker)
                if path[-1] == "value" and "identifier" in path:
                    doc = _set(doc, path, f"{_get(base, path)}-{next(_FRESH)}{marker}")
                text = json.dumps(doc, ensure_ascii=False).replace(marker, suffix)
                seen.add(check_answer(client, endpoint, text.encode(), headers))
    assert any(s < 300 for s in seen) and any(s >= 400 for s in seen), seen
