"""What triage gives back: the level, why, what to do, and everything needed to trace it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from triage.levels import Level
from triage.model import Action

ReasonKind = Literal["rule", "missing", "error", "unit", "future"]
RuleStatus = Literal["fired", "not-fired", "undecided", "error"]


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason for the level: a fired rule, or something the engine could not score."""

    level: Level
    text: str
    rule: str | None = None
    kind: ReasonKind = "rule"

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "level": self.level.label, "text": self.text, "kind": self.kind}


@dataclass(frozen=True, slots=True)
class InputTrace:
    """An input as the engine saw it: its value (``None``: missing) and where it came from."""

    name: str
    value: Any
    source: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Undecided:
    """A rule that neither fired nor held false: its ``when`` needs inputs that are missing.

    ``lacking`` are the missing inputs, in the order the expression first uses them, a
    missing derived name replaced by the missing inputs behind it. ``text`` says so in
    the pathway's language. An undecided rule does not raise the level.
    """

    rule: str
    level: Level
    when: str
    lacking: tuple[str, ...]
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "level": self.level.label,
            "lacking": list(self.lacking),
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class RuleTrace:
    """One rule's outcome, with the values of the names it used."""

    id: str
    level: Level
    when: str
    status: RuleStatus
    values: dict[str, Any]
    detail: str = ""


@dataclass(frozen=True)
class Result:
    """The outcome of triaging one patient's data with one pathway.

    ``undecided`` lists the rules left unknown because inputs they need are missing; they
    did not fire and are not among the ``reasons``.
    """

    pathway: str
    version: int
    sha256: str
    level: Level
    reasons: tuple[Reason, ...]
    action: Action | None
    patient_message: str | None
    fired: tuple[str, ...]
    thresholds: dict[str, Decimal]
    patient_thresholds: tuple[str, ...]
    inputs: tuple[InputTrace, ...]
    derived: tuple[InputTrace, ...]
    rules: tuple[RuleTrace, ...]
    evaluated_at: dt.datetime
    notes: tuple[str, ...] = field(default=())
    undecided: tuple[Undecided, ...] = field(default=())

    @property
    def input_values(self) -> dict[str, Any]:
        return {trace.name: trace.value for trace in self.inputs}

    def due(self, data_time: dt.datetime) -> dt.datetime | None:
        """When contact is due: the data's time plus the action's ``within``."""
        if self.action is None or self.action.within is None:
            return None
        return self.action.within.after(data_time)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record: enough to show and to trace the result later."""
        return {
            "ruleset": {"pathway": self.pathway, "version": self.version, "sha256": self.sha256},
            "level": self.level.label,
            "reasons": [reason.to_dict() for reason in self.reasons],
            "action": self.action.to_dict() if self.action else None,
            "patient_message": self.patient_message,
            "fired": list(self.fired),
            "thresholds": {k: json_value(v) for k, v in self.thresholds.items()},
            "patient_thresholds": list(self.patient_thresholds),
            "inputs": {t.name: json_value(t.value) for t in self.inputs},
            "derived": {t.name: json_value(t.value) for t in self.derived},
            "undecided": [u.to_dict() for u in self.undecided],
            "evaluated_at": self.evaluated_at.isoformat(),
        }


def json_value(value: Any) -> Any:
    """A value as JSON holds it: exact decimals as int or float, times as ISO text."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value
