"""A patient's own thresholds: checked against what the pathway allows, as exact numbers."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from triage.expressions import to_engine_value
from triage.model import Pathway

__all__ = ["ThresholdError", "check_patient_thresholds"]


class ThresholdError(ValueError):
    """Per-patient thresholds that the pathway does not allow; ``problems`` says which."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def check_patient_thresholds(
    pathway: Pathway, values: Mapping[str, Any] | None
) -> dict[str, Decimal]:
    """A patient's own thresholds as exact numbers; ``ThresholdError`` if any is not allowed."""
    if not values:
        return {}  # the usual case, on every judgement: spare it the loop below
    out: dict[str, Decimal] = {}
    problems: list[str] = []
    for name, raw in (values or {}).items():
        threshold = pathway.thresholds.get(name)
        if threshold is None:
            problems.append(f"'{name}' is not a threshold of pathway {pathway.id}")
            continue
        if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal):
            problems.append(f"'{name}' must be a number, not {raw!r}")
            continue
        value = to_engine_value(raw)
        if not value.is_finite():
            problems.append(f"'{name}' must be a finite number")
        elif threshold.min is None or threshold.max is None:
            problems.append(f"'{name}' has no min/max in the pathway and cannot be set per patient")
        elif not threshold.min <= value <= threshold.max:
            problems.append(f"'{name}' = {value} is outside {threshold.min}..{threshold.max}")
        else:
            out[name] = value
    if problems:
        raise ThresholdError(problems)
    return out
