"""Request bodies and the JSON shapes of the clinicians' API (worklist items, results)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from store.models import Enrolment, Patient, TriageResult, WorklistItem

LevelName = Literal["red", "yellow", "green"]
StatusName = Literal["open", "acknowledged", "resolved"]
RANK: dict[str, int] = {"red": 0, "yellow": 1, "green": 2}
LEVEL_OF_RANK: dict[int, str] = {rank: level for level, rank in RANK.items()}
ENROLMENT_SLACK = dt.timedelta(minutes=5)  # a client clock a little ahead of ours


class NoteBody(BaseModel):
    """``{"note": "..."}`` for acknowledge and resolve; the note is optional."""

    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=4000)


class OverrideBody(BaseModel):
    """A clinician's level beside the engine's; a reason is required."""

    model_config = ConfigDict(extra="forbid")
    level: LevelName
    reason: str = Field(max_length=4000)

    @field_validator("reason")
    @classmethod
    def _reason_given(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a reason is required for an override")
        return value.strip()


class EnrolmentBody(BaseModel):
    """``{"pathway": "epilepsy", "thresholds": {"seizures_red": 2}}``."""

    model_config = ConfigDict(extra="forbid")
    pathway: str = Field(min_length=1, max_length=100)
    thresholds: dict[str, Any] = Field(default_factory=dict)
    # When the patient's follow-up in this pathway began, for a patient moved from fixed
    # check-ups: the questionnaire schedule counts from here. Default: now, for a new
    # enrolment; an update keeps the date it has.
    enrolled_at: AwareDatetime | None = None

    @field_validator("enrolled_at")
    @classmethod
    def _not_ahead(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is None:
            return None
        try:
            value = value.astimezone(dt.UTC)
        except OverflowError:  # year 1 with an offset east of UTC, 9999 west of it
            text = "enrolled_at is not a real day: give the day the follow-up began"
            raise ValueError(text) from None
        if value > dt.datetime.now(dt.UTC) + ENROLMENT_SLACK:
            raise ValueError("enrolled_at is in the future: give the day the follow-up began")
        if value.year < 1900:
            raise ValueError("enrolled_at is before 1900: give the day the follow-up began")
        return value


def number(value: Decimal | None) -> int | float | None:
    """An exact engine number as JSON holds it: whole numbers as int, the rest as float."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def iso(value: dt.datetime | None) -> str | None:
    """A stored time as ISO 8601 with its offset (UTC)."""
    return value.isoformat() if value is not None else None


def identifier(patient: Patient) -> str | None:
    if patient.identifier_system is None or patient.identifier_value is None:
        return None
    return f"{patient.identifier_system}|{patient.identifier_value}"


def patient_brief(patient: Patient) -> dict[str, Any]:
    return {"id": patient.id, "identifier": identifier(patient), "name": patient.name}


def effective_level(item: WorklistItem) -> str:
    return item.override_level or item.level


def item_view(item: WorklistItem, patient: Patient) -> dict[str, Any]:
    """A worklist item as API.md shows it, with the engine's level and any override beside."""
    action = dict(item.action or {})
    override = None
    if item.override_level is not None:
        override = {
            "level": item.override_level,
            "reason": item.override_reason,
            "by": item.override_by,
            "at": iso(item.override_at),
        }
    return {
        "id": item.id,
        "patient": patient_brief(patient),
        "pathway": item.pathway_id,
        "level": effective_level(item),
        "engine_level": item.level,
        "override": override,
        "status": item.status,
        "kind": item.kind,
        "reasons": item.reasons,
        "action": {
            "consultation": action.get("consultation"),
            "within": action.get("within"),
            "due": iso(item.due),
        },
        "source": item.sources,
        "ruleset": item.ruleset,
        "newest": newest_view(item.newest),
        "data_time": iso(item.data_time),
        "created": iso(item.created),
        "updated": iso(item.updated),
        "acknowledged": _who(item.acknowledged_by, item.acknowledged_at),
        "resolved": _who(item.resolved_by, item.resolved_at),
        "note": item.note,
    }


def newest_view(newest: dict[str, Any] | None) -> dict[str, Any] | None:
    """The result of the item's newest data, shown beside the level the item holds."""
    if newest is None:
        return None
    return {
        "level": newest["level"],
        "at": newest["at"],
        "result": newest.get("result"),
        "reasons": newest.get("reasons", []),
        "undecided": newest.get("undecided", []),
    }


def _who(by: str | None, at: dt.datetime | None) -> dict[str, Any] | None:
    return None if by is None else {"by": by, "at": iso(at)}


def result_view(row: TriageResult) -> dict[str, Any]:
    """One triage result with its reasons and the ruleset that made it."""
    result = row.result or {}
    return {
        "id": row.id,
        "pathway": row.pathway_id,
        "level": row.level,
        "kind": row.kind,
        "reasons": result.get("reasons", []),
        "undecided": result.get("undecided", []),
        "action": result.get("action"),
        "patient_message": result.get("patient_message"),
        "thresholds": result.get("thresholds", {}),
        "patient_thresholds": result.get("patient_thresholds", []),
        "ruleset": {"pathway": row.pathway_id, "version": row.version, "sha256": row.sha256},
        "source": row.sources,
        "upload": (
            {"id": row.resource_id, "version": row.resource_version}
            if row.resource_id is not None
            else None
        ),
        "data_time": iso(row.data_time),
        "created": iso(row.created),
    }


def enrolment_view(row: Enrolment) -> dict[str, Any]:
    return {
        "patient": row.patient_id,
        "pathway": row.pathway_id,
        "thresholds": row.thresholds,
        "active": row.active,
        "enrolled_at": iso(row.enrolled_at),
        "enrolled_by": row.enrolled_by,
    }
