"""What a replay found (docs/replay.md): the counts a :class:`Tally` gathers upload by upload,
and the :class:`Report` it gives, as JSON.

Everything here is a count or a short list with a bound, except the patients who would
have had a red and had none, which are listed in full: the tally's memory does not grow
with the number of uploads replayed."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from triage import Level

LEVELS = (Level.RED, Level.YELLOW, Level.GREEN)
EXAMPLES_PER_CELL = 10
LISTED_AT_MOST = 10  # uploads the draft does not read: counted, a few named


def mask(national_id: str | None) -> str | None:
    """The birth date part of a national id, the rest hidden: ``010180*****``."""
    if not national_id:
        return None
    return national_id[:6] + "*" * max(len(national_id) - 6, 0)


@dataclass(frozen=True)
class Outcome:
    """One upload: as it was stored, and as the draft judges it."""

    patient_id: str
    national_id: str | None  # masked
    upload: str  # Observation/o-...
    result_id: str  # the stored result
    as_of: dt.datetime
    stored: Level
    draft: Level
    stored_fired: tuple[str, ...]
    draft_fired: tuple[str, ...]
    inputs: dict[str, Any]
    override: Level | None  # the clinician's level on the item the stored result landed on
    same_version: bool  # the stored result was made by this very file

    @property
    def reproduced(self) -> bool:
        return self.stored == self.draft and set(self.stored_fired) == set(self.draft_fired)

    def example(self) -> dict[str, Any]:
        return {
            "patient": self.patient_id,
            "national_id": self.national_id,
            "upload": self.upload,
            "result": self.result_id,
            "as_of": self.as_of.isoformat(),
            "stored": self.stored.label,
            "draft": self.draft.label,
            "inputs": self.inputs,
            "fired_before": sorted(self.stored_fired),
            "fired_after": sorted(self.draft_fired),
            "rules_changed": {
                "stopped": sorted(set(self.stored_fired) - set(self.draft_fired)),
                "started": sorted(set(self.draft_fired) - set(self.stored_fired)),
            },
        }


@dataclass
class Opened:
    """Items that would have opened, by level, and open yellow items raised to red."""

    red: int = 0
    yellow: int = 0
    raised_to_red: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"red": self.red, "yellow": self.yellow, "raised_to_red": self.raised_to_red}


@dataclass
class Tally:
    """The counts of a replay, added to upload by upload and patient by patient."""

    uploads: int = 0
    matrix: Counter[tuple[str, str]] = field(default_factory=Counter)
    fired_before: Counter[str] = field(default_factory=Counter)
    fired_after: Counter[str] = field(default_factory=Counter)
    overridden: int = 0
    draft_agrees: int = 0
    stored_agrees: int = 0
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    opened_before: Opened = field(default_factory=Opened)
    opened_after: Opened = field(default_factory=Opened)
    new_red: list[dict[str, Any]] = field(default_factory=list)
    compared: int = 0  # uploads stored by this very file
    not_reproduced: list[dict[str, Any]] = field(default_factory=list)
    not_replayed: Counter[str] = field(default_factory=Counter)
    not_replayed_listed: list[dict[str, Any]] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.uploads += 1
        self.matrix[(outcome.stored.label, outcome.draft.label)] += 1
        self.fired_before.update(outcome.stored_fired)
        self.fired_after.update(outcome.draft_fired)
        if outcome.override is not None:
            self.overridden += 1
            self.draft_agrees += outcome.draft == outcome.override
            self.stored_agrees += outcome.stored == outcome.override
        if outcome.stored != outcome.draft:
            cell = self.examples.setdefault(f"{outcome.stored.label}->{outcome.draft.label}", [])
            if len(cell) < EXAMPLES_PER_CELL:
                cell.append(outcome.example())
        if outcome.same_version:
            self.compared += 1

    def skip(self, why: str, upload: str, patient_id: str, listed_in_full: bool) -> None:
        """An upload not replayed (withdrawn since, or not read by the draft)."""
        self.not_replayed[why] += 1
        listed = sum(1 for n in self.not_replayed_listed if n["why"] == why)
        if listed_in_full or listed < LISTED_AT_MOST:
            self.not_replayed_listed.append({"upload": upload, "patient": patient_id, "why": why})

    def report(self, pathway: dict[str, Any], period: dict[str, str], days: float) -> Report:
        return Report(pathway=pathway, period=period, days=days, tally=self)


def _rates(counts: dict[str, int], uploads: int, days: float) -> dict[str, float]:
    return {
        "red_per_100_uploads": round(100 * counts["red"] / uploads, 2) if uploads else 0.0,
        "yellow_per_100_uploads": round(100 * counts["yellow"] / uploads, 2) if uploads else 0.0,
        "red_per_day": round(counts["red"] / days, 3),
        "yellow_per_day": round(counts["yellow"] / days, 3),
    }


@dataclass
class Report:
    """The replay's report; :meth:`to_dict` is its JSON (docs/replay.md)."""

    pathway: dict[str, Any]  # id, draft version and sha256
    period: dict[str, str]
    days: float
    tally: Tally

    def to_dict(self) -> dict[str, Any]:
        t = self.tally
        matrix = {s.label: {d.label: t.matrix[(s.label, d.label)] for d in LEVELS} for s in LEVELS}
        before = {s.label: sum(matrix[s.label].values()) for s in LEVELS}
        after = {d.label: sum(matrix[s.label][d.label] for s in LEVELS) for d in LEVELS}
        rules = sorted(set(t.fired_before) | set(t.fired_after))
        return {
            "pathway": self.pathway,
            "period": {**self.period, "days": round(self.days, 3)},
            "uploads": t.uploads,
            "matrix": matrix,
            "changed": t.uploads - sum(matrix[s.label][s.label] for s in LEVELS),
            "levels": {"before": before, "after": after},
            "rates": {
                "before": _rates(before, t.uploads, self.days),
                "after": _rates(after, t.uploads, self.days),
            },
            "items_opened": {
                "before": t.opened_before.to_dict(),
                "after": t.opened_after.to_dict(),
            },
            "fired": {r: {"before": t.fired_before[r], "after": t.fired_after[r]} for r in rules},
            "clinicians": {
                "overridden": t.overridden,
                "draft_agrees": t.draft_agrees,
                "stored_agrees": t.stored_agrees,
            },
            "examples": {cell: t.examples[cell] for cell in sorted(t.examples)},
            "new_red_patients": t.new_red,
            "self_check": {
                "compared": t.compared,
                "reproduced": t.compared - len(t.not_reproduced),
                "not_reproduced": t.not_reproduced,
            },
            "not_replayed": {
                "counts": dict(sorted(t.not_replayed.items())),
                "uploads": t.not_replayed_listed,
            },
        }
