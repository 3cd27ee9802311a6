"""A QuestionnaireResponse as the rule engine reads it: ``linkId -> value``.

The engine's ``{answer: LINKID}`` input is "the first answer to the item with that linkId,
found at any depth". :func:`flatten_response` walks the items in document order (an item,
then the items nested in its answers, then its child items) and keeps, per linkId, the
first answer that has a value. An item without an answer adds nothing: absent, not None.

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
    "answer_value",
    "flatten_response",
    "response_questionnaire_url",
    "response_subject_reference",
]

AnswerValue: TypeAlias = int | decimal.Decimal | bool | str | dt.date | dt.datetime


def flatten_response(qr: QuestionnaireResponse) -> dict[str, AnswerValue]:
    """``linkId -> first answer value`` over the items at any depth (see the module doc)."""
    out: dict[str, AnswerValue] = {}
    # An explicit stack, reversed on push, keeps document order without recursion.
    stack: list[QuestionnaireResponseItem] = list(reversed(qr.item or []))
    while stack:
        item = stack.pop()
        link = item.linkId
        children: list[QuestionnaireResponseItem] = []
        for answer in item.answer or []:
            if link is not None and link not in out:
                value = answer_value(answer)
                if value is not None:
                    out[link] = value
            children.extend(answer.item or [])
        children.extend(item.item or [])
        stack.extend(reversed(children))
    return out


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
