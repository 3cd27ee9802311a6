"""A QuestionnaireResponse as the patient saw it: each question's text and the answers as
shown, for clinicians (who should read "Mer enn halvparten av dagene", not ``LA6570-1``).

:func:`answer_texts` takes raw JSON (a response that passed
:func:`~fhir_adapters.parse_resource`, and its Questionnaire if one is known) and never
raises on odd but valid input: a missing display, options held in a ValueSet, nested items.

- The question: the Questionnaire item's ``text``, else the response item's ``text``, else
  the linkId.
- A Coding answer: the response's ``display``, else the ``display`` of the matching
  ``answerOption`` (same code, and same system when both give one) or of a concept of a
  ValueSet contained in the Questionnaire (``answerValueSet: "#id"``), else the code.
  Other ValueSets are not expanded here: their answers show their code.
- A boolean ``true``/``false``; a number as written; a date, dateTime or time as sent
  (ISO 8601); a Quantity as ``value unit``; a Reference its display, else the reference;
  an Attachment its title, else its url.
- Items come in document order (an item, then the items nested in its answers, then its
  child items); an item without an answer is left out, and an item given several times
  (a repeating group) appears each time.
"""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass
from typing import Any

from fhir_adapters.questionnaire_check import questionnaire_items

__all__ = ["AnswerText", "answer_texts"]


@dataclass(frozen=True, slots=True)
class AnswerText:
    """One answered item: ``answers`` as shown, ``codes`` parallel to them (the code of a
    Coding answer, else None)."""

    link_id: str
    question: str
    answers: tuple[str, ...]
    codes: tuple[str | None, ...]


def answer_texts(
    response: dict[str, Any], questionnaire: dict[str, Any] | None
) -> list[AnswerText]:
    """Each answered item of ``response`` as the patient saw it (see the module doc)."""
    items = questionnaire_items(questionnaire)
    contained = _contained_value_sets(questionnaire)
    out: list[AnswerText] = []
    stack: list[Any] = list(reversed(_list(response.get("item"))))
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        link = node.get("linkId")
        link = link if isinstance(link, str) else ""
        spec = items.get(link, {})
        shown: list[str] = []
        codes: list[str | None] = []
        children: list[Any] = []
        for answer in _list(node.get("answer")):
            if not isinstance(answer, dict):
                continue
            text, code = _shown(answer, spec, contained)
            if text is not None:
                shown.append(text)
                codes.append(code)
            children.extend(_list(answer.get("item")))
        children.extend(_list(node.get("item")))
        if shown:
            question = _text(spec.get("text")) or _text(node.get("text")) or link
            out.append(AnswerText(link, question, tuple(shown), tuple(codes)))
        stack.extend(reversed(children))
    return out


def _shown(
    answer: dict[str, Any], spec: dict[str, Any], contained: dict[str, list[dict[str, Any]]]
) -> tuple[str | None, str | None]:
    """(the answer as shown, or None when it shows nothing; the Coding's code or None)."""
    key = next((k for k in answer if k.startswith("value")), None)
    if key is None:
        return None, None
    value = answer[key]
    if key == "valueCoding":
        if not isinstance(value, dict):
            return None, None
        code = _text(value.get("code")) or None
        shown = _text(value.get("display")) or _option_display(value, spec, contained) or code
        return shown, code
    if isinstance(value, bool):
        return ("true" if value else "false"), None
    if isinstance(value, int | float | decimal.Decimal):
        return _number(value), None
    if isinstance(value, dt.date | dt.time):  # a model dump rather than raw JSON
        return value.isoformat(), None
    if isinstance(value, str):
        return value, None
    if not isinstance(value, dict):
        return None, None
    if key == "valueQuantity":
        number = value.get("value")
        parts = [
            _number(number) if isinstance(number, int | float | decimal.Decimal) else "",
            _text(value.get("unit")) or _text(value.get("code")),
        ]
        return " ".join(p for p in parts if p) or None, None
    if key == "valueReference":
        return _text(value.get("display")) or _text(value.get("reference")) or None, None
    if key == "valueAttachment":
        return _text(value.get("title")) or _text(value.get("url")) or "an attachment", None
    return None, None


def _option_display(
    coding: dict[str, Any], spec: dict[str, Any], contained: dict[str, list[dict[str, Any]]]
) -> str | None:
    code, system = coding.get("code"), coding.get("system")
    if not code:
        return None
    options = [o.get("valueCoding") for o in _list(spec.get("answerOption")) if isinstance(o, dict)]
    value_set = spec.get("answerValueSet")
    if isinstance(value_set, str) and value_set.startswith("#"):
        options += contained.get(value_set[1:], [])
    for option in options:
        if not isinstance(option, dict) or option.get("code") != code:
            continue
        other = option.get("system")
        if system and other and system != other:
            continue
        display = _text(option.get("display"))
        if display:
            return display
    return None


def _contained_value_sets(questionnaire: dict[str, Any] | None) -> dict[str, list[dict[str, Any]]]:
    """``id -> [{system, code, display}]`` of the ValueSets contained in the Questionnaire,
    from their expansion and their enumerated ``compose.include`` concepts."""
    out: dict[str, list[dict[str, Any]]] = {}
    if not isinstance(questionnaire, dict):
        return out
    for resource in _list(questionnaire.get("contained")):
        if not isinstance(resource, dict) or resource.get("resourceType") != "ValueSet":
            continue
        concepts: list[dict[str, Any]] = []
        expansion = resource.get("expansion")
        stack = list(_list(expansion.get("contains"))) if isinstance(expansion, dict) else []
        while stack:
            entry = stack.pop()
            if isinstance(entry, dict):
                concepts.append(entry)
                stack.extend(_list(entry.get("contains")))
        compose = resource.get("compose")
        for include in _list(compose.get("include")) if isinstance(compose, dict) else []:
            if not isinstance(include, dict):
                continue
            for concept in _list(include.get("concept")):
                if isinstance(concept, dict):
                    concepts.append({**concept, "system": include.get("system")})
        if isinstance(resource.get("id"), str):
            out[resource["id"]] = concepts
    return out


def _number(value: int | float | decimal.Decimal) -> str:
    # repr keeps the digits the JSON had (72.5, 5.0); str of an int or Decimal is exact.
    return repr(value) if isinstance(value, float) else str(value)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
