"""A submitted web form read against the Questionnaire's items: typed answers, the errors
to show next to each field (bokmål), and the QuestionnaireResponse items, nested like the
Questionnaire. An item that ``enableWhen`` disables is neither required nor sent. A
read-only item sends its ``initial`` value; a calculated one (the weights' sum) is worked
out here, from the weights of the coded answers sent, and sent only when one has a
weight."""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from usecases.patient_form.items import Answer, Item, enabled_items, walk

MAX_STRING = 1000
MAX_TEXT = 5000
_INTEGER = re.compile(r"[+-]?\d{1,9}")
_DECIMAL = re.compile(r"[+-]?\d{1,12}(\.\d{1,6})?")
_NORWEGIAN_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")

REQUIRED = "Svar på dette spørsmålet."
WORDS = {
    "integer": "Skriv et helt tall, for eksempel 3.",
    "decimal": "Skriv et tall, for eksempel 2,5.",
    "quantity": "Skriv et tall, for eksempel 2,5.",
    "date": "Skriv en dato, for eksempel 31.12.2024.",
    "choice": "Velg ett av svarene.",
    "boolean": "Velg ja eller nei.",
    "string": f"Svaret kan være høyst {MAX_STRING} tegn.",
    "text": f"Svaret kan være høyst {MAX_TEXT} tegn.",
}


@dataclass
class FormAnswers:
    """What a submitted form says: typed ``values`` by linkId (enabled items only), the
    ``errors`` by field id, the ``raw`` text by field id (shown again), and ``enabled``."""

    values: dict[str, Answer] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)
    enabled: set[str] = field(default_factory=set)
    weights: dict[str, decimal.Decimal | None] = field(default_factory=dict)


def read_answers(items: list[Item], fields: Mapping[str, str]) -> FormAnswers:
    """Parse, then decide what is enabled, then check required items and ranges."""
    out = FormAnswers()
    typed: dict[str, Answer] = {}
    for item in walk(items):
        if not item.answerable:
            continue
        raw = (fields.get(item.field_id) or "").strip()
        if not raw:
            continue
        out.raw[item.field_id] = raw
        value, problem = _parse(item, raw)
        if problem:
            out.errors[item.field_id] = problem
        elif value is not None:
            typed[item.link_id] = value
            if item.kind in ("choice", "open-choice"):
                out.weights[item.link_id] = item.options[int(raw)].weight
    out.enabled = enabled_items(items, typed)
    for item in walk(items):
        if not item.answerable:
            continue
        if item.field_id not in out.enabled:
            out.errors.pop(item.field_id, None)
            continue
        if item.field_id in out.errors:
            continue
        if item.link_id not in typed:
            if item.required:
                out.errors[item.field_id] = REQUIRED
            continue
        problem = _range_problem(item, typed[item.link_id])
        if problem:
            out.errors[item.field_id] = problem
        else:
            out.values[item.link_id] = typed[item.link_id]
    for item in walk(items):
        if item.calculated and item.field_id in out.enabled:
            total = _weight_sum(out)
            if total is not None:
                out.values[item.link_id] = total
    return out


def _weight_sum(answers: FormAnswers) -> decimal.Decimal | None:
    """The sum of the weights of the coded answers kept, as FHIRPath's ``weight().sum()``
    reads it: an answer without a weight adds nothing (PHQ-9's difficulty question is not
    scored). None when no answer kept has a weight: no total rather than a made-up 0."""
    weights = [
        w for link_id, w in answers.weights.items() if link_id in answers.values and w is not None
    ]
    return sum(weights, decimal.Decimal(0)) if weights else None


def _parse(item: Item, raw: str) -> tuple[Answer | None, str | None]:
    kind = item.kind
    if kind == "integer":
        text = raw.replace(" ", "")
        return (int(text), None) if _INTEGER.fullmatch(text) else (None, WORDS["integer"])
    if kind in ("decimal", "quantity"):
        text = raw.replace(" ", "").replace(",", ".")
        if not _DECIMAL.fullmatch(text):
            return None, WORDS[kind]
        return decimal.Decimal(text), None
    if kind == "boolean":
        if raw in ("true", "false"):
            return raw == "true", None
        return None, WORDS["boolean"]
    if kind in ("choice", "open-choice"):
        if raw.isdigit() and int(raw) < len(item.options):
            value = item.options[int(raw)].value
            return _option_answer(value), None
        return None, WORDS["choice"]
    if kind == "date":
        return _date(raw)
    limit = MAX_TEXT if kind == "text" else MAX_STRING
    return (raw, None) if len(raw) <= limit else (None, WORDS[kind if kind == "text" else "string"])


def _option_answer(value: Mapping[str, Any]) -> Answer:
    (key, inner), *_ = value.items()
    if key == "valueCoding":
        return dict(inner)
    if key == "valueInteger":
        return int(inner)
    if key == "valueDate":
        return dt.date.fromisoformat(str(inner))
    return str(inner)


def _date(raw: str) -> tuple[Answer | None, str | None]:
    norwegian = _NORWEGIAN_DATE.fullmatch(raw)
    try:
        if norwegian:
            day, month, year = (int(g) for g in norwegian.groups())
            return dt.date(year, month, day), None
        return dt.date.fromisoformat(raw), None
    except ValueError:
        return None, WORDS["date"]


def _range_problem(item: Item, value: Answer) -> str | None:
    if item.kind not in ("integer", "decimal", "quantity") or isinstance(value, bool):
        return None
    number = decimal.Decimal(value) if isinstance(value, int) else value
    if not isinstance(number, decimal.Decimal):
        return None
    if item.minimum is not None and number < item.minimum:
        return f"Tallet må være minst {_show(item.minimum)}."
    if item.maximum is not None and number > item.maximum:
        return f"Tallet må være høyst {_show(item.maximum)}."
    return None


def _show(number: decimal.Decimal) -> str:
    return format(number.normalize(), "f").replace(".", ",")


def response_items(items: list[Item], answers: FormAnswers) -> list[dict[str, Any]]:
    """The QuestionnaireResponse's items: enabled and answered, nested like the form."""
    out: list[dict[str, Any]] = []
    for item in items:
        if item.field_id not in answers.enabled:
            continue
        children = response_items(item.children, answers)
        answer = _answer_of(item, answers)
        if answer is not None:
            if children:
                answer["item"] = children
            out.append({"linkId": item.link_id, "text": item.text, "answer": [answer]})
        elif item.kind == "group" and children:
            out.append({"linkId": item.link_id, "text": item.text, "item": children})
    return out


def _answer_of(item: Item, answers: FormAnswers) -> dict[str, Any] | None:
    if item.read_only and not item.calculated:
        return dict(item.initial) if item.initial else None
    if (item.answerable or item.calculated) and item.link_id in answers.values:
        return _fhir_value(item, answers.values[item.link_id])
    return None


def _fhir_value(item: Item, value: Answer) -> dict[str, Any]:
    if isinstance(value, decimal.Decimal) and item.kind == "quantity":
        quantity: dict[str, Any] = {"value": float(value)}
        unit = item.unit or {}
        if unit.get("display") or unit.get("code"):
            quantity["unit"] = unit.get("display") or unit.get("code")
        if unit.get("system") and unit.get("code"):
            quantity |= {"system": unit["system"], "code": unit["code"]}
        return {"valueQuantity": quantity}
    if isinstance(value, decimal.Decimal) and item.kind == "integer":
        return {"valueInteger": int(value)}
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, dict):
        return {"valueCoding": value}
    if isinstance(value, decimal.Decimal):
        return {"valueDecimal": float(value)}
    if isinstance(value, int):
        return {"valueInteger": value}
    if isinstance(value, dt.date):
        return {"valueDate": value.isoformat()}
    return {"valueString": value}
