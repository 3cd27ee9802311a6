"""Checks behind :func:`fhir_adapters.parse.parse_resource` (internal to the package).

- :func:`check_raw` walks the raw JSON guided by the R4B model's fields: integer, decimal
  and boolean elements must be JSON numbers / booleans (the models take ``"107"``, ``true``
  as an integer and ``1`` as a boolean), complex elements JSON objects (the models parse a
  string that holds JSON), nested resources of a known ``resourceType`` (the models raise
  ``KeyError`` otherwise).
- :func:`validation_issues` turns pydantic's errors into plain-word issues with
  FHIRPath-like locations.
"""

from __future__ import annotations

import collections
import functools
import json
import math
import re
import sys
import types
import typing
from typing import Any, TypeAlias

import pydantic
import pydantic_core
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.resource import Resource
from fhir_core import types as fhir_types
from fhir_core.fhirabstractmodel import FHIRAbstractModel

from fhir_adapters.outcome import OutcomeIssue

__all__ = [
    "MAX_ISSUES",
    "check_codes",
    "check_raw",
    "covered",
    "first_unstorable",
    "resource_class",
    "validation_issues",
]

MAX_ISSUES = 50


def covered(issue: OutcomeIssue, issues: list[OutcomeIssue]) -> bool:
    """True when an issue of the raw check already names this place (or a parent of it)."""
    where = issue.location
    return any(
        where == i.location or where.startswith((i.location + ".", i.location + "["))
        for i in issues
    )


# --- codes with a required binding -----------------------------------------------------------

# FHIR R4 binds these elements to a fixed value set ("required"); the models take any string,
# and an Observation with status "banana" must not become a reading. Top-level elements only.
REQUIRED_CODES: dict[str, dict[str, tuple[str, ...]]] = {
    "Observation": {
        "status": (
            "registered",
            "preliminary",
            "final",
            "amended",
            "corrected",
            "cancelled",
            "entered-in-error",
            "unknown",
        )
    },
    "QuestionnaireResponse": {
        "status": ("in-progress", "completed", "amended", "entered-in-error", "stopped")
    },
    "Questionnaire": {"status": ("draft", "active", "retired", "unknown")},
    "Patient": {"gender": ("male", "female", "other", "unknown")},
    "Bundle": {
        "type": (
            "document",
            "message",
            "transaction",
            "transaction-response",
            "batch",
            "batch-response",
            "history",
            "searchset",
            "collection",
        )
    },
}


def check_codes(raw: dict[str, Any], rtype: str) -> list[OutcomeIssue]:
    """A string outside its required value set, named with the codes that are allowed."""
    issues = []
    for name, allowed in REQUIRED_CODES.get(rtype, {}).items():
        value = raw.get(name)
        if isinstance(value, str) and value not in allowed:
            text = f"{name} {value!r} is not a valid code; use one of: {', '.join(allowed)}"
            issues.append(OutcomeIssue("error", "code-invalid", text, f"{rtype}.{name}"))
    return issues


# --- the raw JSON check ---------------------------------------------------------------------

_INT_META = (fhir_types.Integer, fhir_types.UnsignedInt, fhir_types.PositiveInt)
# per field alias: (kind, is_list, model class for kind "model")
_FieldInfo: TypeAlias = tuple[str, bool, type[FHIRAbstractModel] | None]


def _classify(annotation: Any) -> _FieldInfo | None:
    is_list = False
    while True:
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return None
            annotation = args[0]
        elif origin is list:  # also typing.List[...]
            is_list, annotation = True, typing.get_args(annotation)[0]
        elif origin is typing.Annotated:
            _base, *meta = typing.get_args(annotation)
            if any(isinstance(m, _INT_META) for m in meta):
                return ("int", is_list, None)
            if any(isinstance(m, fhir_types.Decimal) for m in meta):
                return ("decimal", is_list, None)
            return None
        else:
            break
    if annotation is bool:
        return ("bool", is_list, None)
    if isinstance(annotation, type) and issubclass(annotation, fhir_types.FhirBase):
        klass = annotation.get_model_klass()
        if klass is Resource:
            return ("resource", is_list, None)
        return ("model", is_list, klass)
    return None


@functools.cache
def _fields(model: type[FHIRAbstractModel]) -> dict[str, _FieldInfo]:
    out: dict[str, _FieldInfo] = {}
    for name, field in model.model_fields.items():
        info = _classify(field.annotation)
        if info is not None:
            out[field.alias or name] = info
    return out


@functools.cache
def resource_class(rtype: str) -> type[FHIRAbstractModel] | None:
    try:
        klass = get_fhir_model_class(rtype)
    except (ValueError, KeyError, ImportError):
        return None
    return klass if issubclass(klass, Resource) else None


def check_raw(raw: dict[str, Any], model: type[FHIRAbstractModel], root: str) -> list[OutcomeIssue]:
    """Issues of the raw JSON the models would let through, in document order."""
    issues: list[OutcomeIssue] = []
    # A stack of objects still to walk and issues found, popped in document order.
    stack: list[_Node | OutcomeIssue] = [(raw, model, root)]
    while stack and len(issues) < MAX_ISSUES:
        top = stack.pop()
        if isinstance(top, OutcomeIssue):
            issues.append(top)
        else:
            stack.extend(reversed(_children(*top)))
    return issues


_Node: TypeAlias = tuple[dict[str, Any], type[FHIRAbstractModel], str]


def _children(obj: dict[str, Any], klass: type[FHIRAbstractModel], path: str) -> list[Any]:
    found: list[_Node | OutcomeIssue] = []

    def refuse(code: str, text: str, where: str) -> None:
        found.append(OutcomeIssue("error", code, text, where))

    fields = _fields(klass)
    for key, value in obj.items():
        info = fields.get(key)
        if info is None:
            continue
        kind, is_list, sub = info
        if is_list and not isinstance(value, list):
            continue  # the model reports "must be a JSON array"
        values = list(enumerate(value)) if is_list else [(None, value)]
        for index, item in values:
            where = f"{path}.{key}" if index is None else f"{path}.{key}[{index}]"
            if item is None:
                continue
            if kind == "int":
                if isinstance(item, bool) or not isinstance(item, int | float):
                    refuse("value", f"must be a whole JSON number, not {_json_kind(item)}", where)
                elif isinstance(item, float) and not item.is_integer():
                    refuse("value", "must be a whole number", where)
            elif kind == "decimal":
                if isinstance(item, bool) or not isinstance(item, int | float):
                    refuse("value", f"must be a JSON number, not {_json_kind(item)}", where)
            elif kind == "bool":
                if not isinstance(item, bool):
                    refuse("value", f"must be true or false, not {_json_kind(item)}", where)
            elif not isinstance(item, dict):
                refuse("structure", f"must be a JSON object, not {_json_kind(item)}", where)
            elif kind == "model" and sub is not None:
                found.append((item, sub, where))
            else:  # a contained or bundled resource
                inner = item.get("resourceType")
                klass_inner = resource_class(inner) if isinstance(inner, str) else None
                if klass_inner is None:
                    refuse("invalid", "unknown or missing resourceType", f"{where}.resourceType")
                else:
                    found.append((item, klass_inner, where))
    return found


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return "text (a JSON string)"
    if isinstance(value, int | float):
        return "a number"
    return "a JSON array" if isinstance(value, list) else "a JSON object"


# Below U+0020 a FHIR string may hold only tab, LF and CR; PostgreSQL cannot store NUL at all.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
NOT_FINITE = "numbers must be finite (this one is too large or not a number)"
CONTROL_CHARACTER = "text may not hold control characters (such as NUL) but tab and newline"


def first_unstorable(data: Any, root: str) -> tuple[str, str] | None:
    """The location of the first value no resource may hold, and why: a number that is not
    finite or beyond a float (a 400-digit integer became an infinite reading), or text with
    a control character."""
    stack: list[tuple[Any, str]] = [(data, root)]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if _CONTROL.search(value):
                return path, CONTROL_CHARACTER
        elif isinstance(value, float):
            if not math.isfinite(value):
                return path, NOT_FINITE
        elif isinstance(value, int) and not isinstance(value, bool):
            if abs(value) > sys.float_info.max:
                return path, NOT_FINITE
        elif isinstance(value, dict):
            stack.extend((v, f"{path}.{k}" if path else str(k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(value))
    return None


class _Repeated(dict[str, Any]):
    """A JSON object in which ``names`` were given more than once."""

    names: list[str]


def first_duplicate_key(body: bytes | str, root: str) -> tuple[str, str] | None:
    """The location of the first element a JSON object names twice, and what to do.

    JSON parsers keep the last of two equal names without a word, so an answer sent as
    ``{"valueInteger": 5, "valueInteger": 0}`` would silently become 0. FHIR JSON names each
    element once; a body that does not is refused rather than guessed at. Costs one more
    parse with the standard library (about 15 µs per kilobyte)."""
    found = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal found
        obj = dict(items)
        if len(obj) == len(items):
            return obj
        found = True
        repeated = _Repeated(obj)
        seen: set[str] = set()
        repeated.names = []
        for name, _ in items:
            if name in seen:
                repeated.names.append(name)
            seen.add(name)
        return repeated

    try:
        tree = json.loads(body, object_pairs_hook=pairs)
    except (ValueError, RecursionError):  # already accepted by the stricter parser
        return None
    if not found:
        return None
    queue: collections.deque[tuple[Any, str]] = collections.deque([(tree, root)])
    while queue:  # breadth first: the outermost repetition is named
        value, path = queue.popleft()
        if isinstance(value, _Repeated):
            name = value.names[0]
            where = f"{path}.{name}" if path else name
            return where, (
                f"'{name}' is given more than once in the same JSON object; "
                "give each element once (only one of the values could be used)"
            )
        if isinstance(value, dict):
            queue.extend((v, f"{path}.{k}" if path else str(k)) for k, v in value.items())
        elif isinstance(value, list):
            queue.extend((v, f"{path}[{i}]") for i, v in enumerate(value))
    return None


# --- pydantic errors to issues ----------------------------------------------------------------

_NAME = re.compile(r"_?[A-Za-z][A-Za-z0-9]*")
_CHOICE = re.compile(
    r"Any of one field value is expected from this list \[(.*)\], but got multiple"
)
_SPEC = re.compile(r"(\w+) value string does not match spec regex")
_FORMS = {
    "DateTime": "a date (2026-11-20) or a date and time with seconds and offset "
    "(2026-11-20T08:05:00+01:00)",
    "Instant": "a date and time with seconds and offset (2026-11-20T08:05:00+01:00)",
    "Date": "a date (2026-11-20, 2026-11 or 2026)",
    "Time": "a time of day (08:05:00)",
    "Decimal": "a JSON number",
}
_SIMPLE: dict[str, tuple[str, str]] = {
    "missing": ("required", "a value is required here"),
    "model_field_validation.missing": ("required", "a value is required here"),
    "extra_forbidden": ("structure", "unknown element (not part of this FHIR R4 type)"),
    "list_type": ("structure", "must be a JSON array"),
    "dict_type": ("structure", "must be a JSON object"),
    "model_type": ("structure", "must be a JSON object"),
    "model_attributes_type": ("structure", "must be a JSON object"),
    "json_invalid": ("structure", "must be a JSON object"),
    "json_type": ("structure", "must be a JSON object"),
    "string_type": ("value", "must be a JSON string"),
    "string_too_long": ("too-long", "is too long"),
    "string_pattern_mismatch": ("value", "is not in the form FHIR allows here"),
}


def _location(loc: tuple[int | str, ...], root: str) -> str:
    out = root
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        if part == "resource_type":
            part = "resourceType"
        elif part.endswith("__ext"):
            part = "_" + part[: -len("__ext")]
        if part != "root" and _NAME.fullmatch(part):
            out += f".{part}"
    return out


def _plain(err: pydantic_core.ErrorDetails) -> tuple[str, str]:
    kind, msg = err["type"], err["msg"].removeprefix("Value error, ")
    if kind in _SIMPLE:
        return _SIMPLE[kind]
    if kind.startswith("int_"):
        return "value", "must be a whole number"
    if kind.startswith("bool_"):
        return "value", "must be true or false"
    if kind.startswith(("decimal_", "float_")):
        return "value", "must be a number"
    if kind.startswith(("datetime_", "date_", "time_", "timezone_")):
        reason = msg.split(",", 1)[1].strip() if "," in msg else msg
        return "value", f"is not a valid date or time ({reason})"
    if match := _CHOICE.search(msg):
        names = match.group(1).replace("'", "")
        return "invalid", f"only one of these may be given: {names}"
    if match := _SPEC.search(msg):
        form = _FORMS.get(match.group(1), f"a FHIR {match.group(1)}")
        return "value", f"is not valid here: give {form}"
    if kind == "fhir-validation-wrong-resource-type":
        return "invalid", "a resource of another type was expected here"
    msg = re.sub(r"``[^`]*``|\b(?:fhir\.resources|fhir_core|pydantic)[\w.]*", "", msg)
    msg = " ".join(msg.replace("Input should be", "must be").split())
    return "invalid", msg or "is not valid"


def validation_issues(exc: pydantic.ValidationError, root: str) -> list[OutcomeIssue]:
    issues: list[OutcomeIssue] = []
    seen: set[tuple[str, str]] = set()
    for err in exc.errors(include_url=False, include_context=False):
        code, text = _plain(err)
        where = _location(err["loc"], root)
        if (where, text) not in seen:
            seen.add((where, text))
            issues.append(OutcomeIssue("error", code, text, where))
    return issues
