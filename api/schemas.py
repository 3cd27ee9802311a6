"""What callers send to the clinicians' API: the request bodies, and the levels and statuses
they name. The answers are in :mod:`api.shapes`."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

LevelName = Literal["red", "yellow", "green"]
StatusName = Literal["open", "acknowledged", "resolved"]
# The contact that actually happened, recorded when an item is resolved: the words of a
# rule's ``action.consultation`` (usecases.worklist.CONTACTS, in the same order).
ContactName = Literal["none", "digital", "phone", "video", "physical"]
ENROLMENT_SLACK = dt.timedelta(minutes=5)  # a client clock a little ahead of ours


class NoteBody(BaseModel):
    """``{"note": "..."}`` for acknowledge and resolve; the note is optional."""

    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=4000)


class ResolveBody(NoteBody):
    """``{"note": "...", "contact": "phone"}`` for resolve; both are optional. Without a
    contact the item counts as "contact not recorded", never as a visit avoided."""

    contact: ContactName | None = Field(
        default=None, description="the contact that actually happened, if any is recorded"
    )


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
