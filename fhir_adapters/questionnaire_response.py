"""A QuestionnaireResponse as the rule engine reads it: ``linkId -> value``.

The engine's ``{answer: LINKID}`` input is "the answer to the item with that linkId, found
at any depth". :func:`flatten_response` walks the items in document order (an item's
answers, each followed by the items nested in it, then the item's child items) and
collects, per linkId, every answer that has a value. One value gives that value; several
(an item marked ``repeats``, or a child of a repeating group given several times) give a
``tuple`` of them in document order, never just the first: the engine decides what
several answers mean (the highest score, any true, "answered N times"). An item answered
more than once where the Questionnaire does not allow it is refused on arrival
(:func:`~fhir_adapters.questionnaire_check.repeated_answers`), so a tuple here is an
answer the patient was allowed to give. An item without an answer adds nothing: absent,
not None.

Answer types and the values they give:

==================  ============================================================
valueInteger        ``int``
valueDecimal        ``decimal.Decimal`` (``Decimal(str(float))``: the JSON parser gives
                    floats, so trailing zeros are lost, never digits a person wrote)
valueBoolean        ``bool``
valueString         ``str``
valueDate           ``datetime.date``; a partial date (``2026-11``) stays a ``str``
valueDateTime       an aware ``datetime.datetime``; a date-only value is a
                    ``datetime.date``; a partial date stays a ``str``
valueTime           ``str`` (``08:05:00``)
valueCoding         its ``code`` (``str``); a Coding without a code is absent
valueQuantity       its ``value`` (``Decimal``); a Quantity without a value is absent
valueUri            ``str``
valueReference      its ``reference`` (``str``)
valueAttachment     absent (nothing a rule could compare)
==================  ============================================================
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any, TypeAlias

from fhir.resources.R4B.questionnaireresponse import (
    QuestionnaireResponse,
    QuestionnaireResponseItem,
    QuestionnaireResponseItemAnswer,
)

__all__ = [
    "AnswerValue",
    "FlatAnswer",
    "answer_value",
    "flatten_response",
    "response_questionnaire_url",
    "response_subject_reference",
]

AnswerValue: TypeAlias = int | decimal.Decimal | bool | str | dt.date | dt.datetime
# One answer, or several in document order (see the module doc).
FlatAnswer: TypeAlias = AnswerValue | tuple[AnswerValue, ...]
# What flatten_response's walk visits: an item, or one answer with its item's linkId.
_Node: TypeAlias = QuestionnaireResponseItem | tuple[str | None, QuestionnaireResponseItemAnswer]


def flatten_response(qr: QuestionnaireResponse) -> dict[str, FlatAnswer]:
    """``linkId -> answer value`` (a tuple when several) at any depth (see the module doc)."""
    found: dict[str, list[AnswerValue]] = {}
    # An explicit stack, reversed on push, keeps document order without recursion: an
    # item stands for its answers then its children, an answer for its value then its items.
    stack: list[_Node] = list(reversed(qr.item or []))
    while stack:
        node = stack.pop()
        if isinstance(node, tuple):
            link, answer = node
            value = answer_value(answer)
            if link is not None and value is not None:
                found.setdefault(link, []).append(value)
            stack.extend(reversed(answer.item or []))
            continue
        children: list[_Node] = [(node.linkId, answer) for answer in node.answer or []]
        children.extend(node.item or [])
        stack.extend(reversed(children))
    return {
        link: values[0] if len(values) == 1 else tuple(values) for link, values in found.items()
    }


def answer_value(answer: QuestionnaireResponseItemAnswer) -> AnswerValue | None:
    """The typed value of one answer, or None when it has none the engine can use."""
    if answer.valueBoolean is not None:
        return bool(answer.valueBoolean)
    if answer.valueInteger is not None:
        return int(answer.valueInteger)
    if answer.valueDecimal is not None:
        return _decimal(answer.valueDecimal)
    if answer.valueString is not None:
        return str(answer.valueString)
    if answer.valueCoding is not None:
        return answer.valueCoding.code or None
    if answer.valueQuantity is not None:
        value = answer.valueQuantity.value
        return None if value is None else _decimal(value)
    if answer.valueDateTime is not None:
        return _when(answer.valueDateTime)
    if answer.valueDate is not None:
        return _when(answer.valueDate)
    if answer.valueTime is not None:
        time = answer.valueTime
        return time.isoformat() if isinstance(time, dt.time) else str(time)
    if answer.valueUri is not None:
        return str(answer.valueUri)
    if answer.valueReference is not None:
        return answer.valueReference.reference or None
    return None


def response_questionnaire_url(qr: QuestionnaireResponse) -> str | None:
    """The canonical URL of the questionnaire answered, without any ``|version``."""
    if not qr.questionnaire:
        return None
    return str(qr.questionnaire).split("|", 1)[0] or None


def response_subject_reference(qr: QuestionnaireResponse) -> str | None:
    """``subject.reference`` as sent (``Patient/abc``), or None."""
    if qr.subject is None or not qr.subject.reference:
        return None
    return str(qr.subject.reference)


def _decimal(value: Any) -> decimal.Decimal:
    if isinstance(value, decimal.Decimal):
        return value
    return decimal.Decimal(str(value))


def _when(value: Any) -> AnswerValue:
    # The models give datetime (always aware: FHIR requires an offset with a time),
    # date for a full date, and str for a partial date such as "2026-11".
    if isinstance(value, dt.date):
        return value
    return str(value)
