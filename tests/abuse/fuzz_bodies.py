"""FHIR bodies for the fuzz tests (test_fhir_fuzz.py): valid starting points about the seeded
patient, and the mutations hypothesis makes of them.

Mutations: wrong types at any path, missing elements, strings near and over the body limit,
deep nesting, unicode (astral, right-to-left, NUL, lone surrogates escaped in the JSON),
extreme numbers (1e308, -1e308, 1e-320, 400-digit integers, NaN/Infinity literals),
duplicate keys, a wrong resourceType, a wrong subject.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

from fhir_adapters.norwegian_id import control_digits
from tests.abuse.world import READING_SAMPLE, RESPONSE_SAMPLE, World
from tests.integration.fhir_helpers import fnr_patient, sample, weight

# --- valid starting points ------------------------------------------------------------------


FRESH = itertools.count()


def bases(world: World, endpoint: str, serial: int) -> list[dict[str, Any]]:
    """Valid bodies for ``endpoint`` about the seeded patient (fresh identifiers)."""
    ident = {"system": "urn:test:fuzz", "value": f"fuzz-{next(FRESH)}"}
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


def paths_of(value: Any, prefix: Path = ()) -> Iterator[Path]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths_of(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from paths_of(child, (*prefix, index))


def value_at(doc: Any, path: Path) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def set_at(doc: Any, path: Path, value: Any) -> Any:
    if not path:
        return value
    value_at(doc, path[:-1])[path[-1]] = value
    return doc


def _delete(doc: Any, path: Path) -> Any:
    if not path:
        return {}
    parent = value_at(doc, path[:-1])
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
    paths = list(paths_of(doc))
    path = draw(st.sampled_from(paths))
    kinds = ["type", "delete", "text", "text", "number", "nest", "resourceType", "subject"]
    kind = draw(st.sampled_from(kinds))
    if kind == "type":
        return set_at(doc, path, draw(OTHER_VALUES))
    if kind == "delete":
        return _delete(doc, path)
    if kind == "text":
        # Into an existing string, so that the rest of the value may still be valid.
        strings = [p for p in paths if isinstance(value_at(doc, p), str)] or [path]
        where = draw(st.sampled_from(strings))
        value = value_at(doc, where)
        odd = draw(ODD_TEXT)
        if isinstance(value, str) and draw(st.booleans()):
            odd = value + odd
        return set_at(doc, where, odd)
    if kind == "number":
        return set_at(doc, path, draw(ODD_NUMBERS))
    if kind == "nest":
        depth = draw(st.sampled_from([2, 30, 150]))
        wrapped = value_at(doc, path)
        for level in range(depth):
            wrapped = [wrapped] if level % 2 else {"x": wrapped}
        return set_at(doc, path, wrapped)
    resources = [p for p in paths if _is_resource(value_at(doc, p))]
    if not resources:
        return doc
    holder = draw(st.sampled_from(resources))
    if kind == "resourceType":
        value_at(doc, holder)["resourceType"] = draw(RESOURCE_TYPES)
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
    value_at(doc, holder)["subject"] = {"reference": subject}
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
    doc: Any = copy.deepcopy(draw(st.sampled_from(bases(world, endpoint, serial))))
    # Mostly one change: two or more mostly hide each other behind the first refusal.
    for _ in range(draw(st.sampled_from([1, 1, 1, 0, 2]))):
        doc = draw(_tree_mutation(doc))
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()))
    if draw(st.sampled_from([False, False, True])):
        text = draw(_text_mutation(text, world, limit))
    return text.encode("utf-8", errors="surrogatepass")
