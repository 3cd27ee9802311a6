"""A questionnaire answer read for one input: its value in engine form, or why it has none.

An answer of the wrong kind, a code the pathway gives no score, or an item answered
several times where only one answer makes sense gives no value and a problem text; the
engine makes that a yellow reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from triage.expressions import to_engine_value, type_word
from triage.formatting import show_value
from triage.model import AnswerInput

__all__ = ["read_answer"]

_ENGINE_KIND = {Decimal: "FLOAT", bool: "BOOLEAN", str: "STRING", dt.datetime: "DATETIME"}


def read_answer(
    spec: AnswerInput, answers: Mapping[str, Any], expected: Any, lang: str
) -> tuple[Any, str, str | None]:
    """(value in engine form or None, source, problem text or None).

    ``answers`` maps linkId to a value (a Coding answer given as its code, an item
    answered more than once as a tuple); ``expected`` is the rule-engine type the
    pathway gives the input (``UNDEFINED``: any).
    """
    source = spec.describe()
    raw = answers.get(spec.link_id)
    if isinstance(raw, tuple | list):
        # An item the Questionnaire lets repeat; the adapter hands its answers as a tuple.
        if len(raw) > 1:
            return _repeated(spec, tuple(raw), expected, lang)
        raw = raw[0] if raw else None
    if raw is None:
        return None, source, None
    if spec.scores is not None:
        code = raw.get("code") if isinstance(raw, dict) else raw
        if isinstance(code, str) and code in spec.scores:
            return spec.scores[code], source, None
        return None, source, _no_score_text(spec, code)
    try:
        value = to_engine_value(raw)
    except TypeError:
        return None, source, f"the answer to {spec.link_id} cannot be read ({type(raw).__name__})"
    if isinstance(value, Decimal) and not value.is_finite():
        # inf/NaN compare oddly (NaN == 3 is false) and cannot be stored as JSON numbers.
        return None, source, f"the answer to {spec.link_id} is {raw!r}, not a finite number"
    want = getattr(expected, "name", "UNDEFINED")
    got = _ENGINE_KIND.get(type(value))
    if want != "UNDEFINED" and got != want:
        return None, source, _wrong_kind_text(spec, raw, expected)
    return value, source, None


def _repeated(
    spec: AnswerInput, raws: tuple[Any, ...], expected: Any, lang: str
) -> tuple[Any, str, str | None]:
    """Several answers to one item: a score or a yes/no can take them all, nothing else can."""
    source = spec.describe()
    if spec.scores is not None:
        scores: list[Decimal] = []
        for raw in raws:
            code = raw.get("code") if isinstance(raw, dict) else raw
            if not (isinstance(code, str) and code in spec.scores):
                return None, source, _no_score_text(spec, code)
            scores.append(spec.scores[code])
        # The worst symptom ticked is the one that matters for triage.
        return max(scores), source, None
    if getattr(expected, "name", "") == "BOOLEAN":
        for raw in raws:
            if not isinstance(raw, bool):
                return None, source, _wrong_kind_text(spec, raw, expected)
        return any(raws), source, None
    return None, source, _repeated_text(spec.link_id, len(raws), lang)


def _no_score_text(spec: AnswerInput, code: Any) -> str:
    known = ", ".join(spec.scores or {})
    return (
        f"the answer {show_value(code, 'en')!s} to {spec.link_id} has no "
        f"score in the pathway (known: {known})"
    )


def _wrong_kind_text(spec: AnswerInput, raw: Any, expected: Any) -> str:
    return (
        f"the answer to {spec.link_id} is {show_value(raw, 'en')}, "
        f"but the pathway expects {type_word(expected)}"
    )


def _repeated_text(link_id: str, times: int, lang: str) -> str:
    if lang == "nn":
        return f"Spørsmålet {link_id} er svara {times} gonger; ein behandlar må lese skjemaet"
    if lang == "nb":
        return f"Spørsmålet {link_id} er besvart {times} ganger; en behandler må lese skjemaet"
    return f"The item {link_id} was answered {times} times; a person must read the form"
