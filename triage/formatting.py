"""Filling ``{name}`` in reasons and patient messages, numbers with at most one decimal."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = ["fill", "show_value"]

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_ONE_DECIMAL = Decimal("0.1")
_WORDS = {"nb": ("ja", "nei"), "nn": ("ja", "nei"), "en": ("yes", "no")}


def show_value(value: Any, language: str = "nb") -> str:
    """A value as a person reads it: ``2.25`` -> ``2,3`` in Norwegian, ``True`` -> ``ja``."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        yes, no = _WORDS.get(language, _WORDS["en"])
        return yes if value else no
    if isinstance(value, int | float):
        value = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            return str(value)
        rounded = value.quantize(_ONE_DECIMAL, rounding=ROUND_HALF_UP)
        text = (
            str(rounded.to_integral_value())
            if rounded == rounded.to_integral_value()
            else (f"{rounded:f}")
        )
        if text == "-0":
            text = "0"
        return text.replace(".", ",") if language in ("nb", "nn") else text
    if isinstance(value, dt.datetime):
        return value.strftime("%d.%m.%Y %H:%M") if language in ("nb", "nn") else value.isoformat()
    return str(value)


def fill(template: str, values: Mapping[str, Any], language: str = "nb") -> str:
    """Replace each ``{name}`` by its value; a name with no value shows as ``–``."""
    return _PLACEHOLDER.sub(
        lambda m: show_value(values.get(m.group(1).strip()), language), template
    )
