"""Worklist policy: how triage results become the items clinicians work. Pure: no SQL, no queue.

Decisions, in one place:

- **Ranking.** Red before yellow before green, by the clinician's level when an item was
  overridden (:func:`sort_rank`), else the engine's; within a level the earliest ``due``
  first, items without a due time last (:func:`sort_key`).
- **Due time.** A result's action ``within`` counted from the time of the data
  (:meth:`triage.Result.due`). A result without a deadline gets a default review
  deadline: yellow ``P3D`` and red ``P1D`` after the data (:data:`DEFAULT_REVIEW`); a
  green without one has no due time.
- **New data for an open item** (:func:`on_result`): the item takes the new level, up or
  down, and its status is kept, except that a rise re-opens an acknowledged item. The
  clinician's override is kept while the engine's level does not rise, and dropped when
  it rises (a judgement made on milder data does not hide worse data).
- **Problems** (:func:`on_problem`: a job that could not be triaged, a response overdue)
  make an item at least yellow and never lower it, and re-open it: a person must look.
- **Overdue** (:func:`overdue_due`): a response is due ``every`` after the last response
  (or after enrolment when none came), and overdue ``overdue_after`` later.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from triage.durations import Duration, parse_duration
from triage.levels import Level
from triage.model import Action, Schedule

__all__ = [
    "DEFAULT_REVIEW",
    "FAILURES",
    "RANK",
    "Change",
    "OpenItem",
    "due_time",
    "failed_text",
    "no_reading_text",
    "on_problem",
    "on_result",
    "overdue_due",
    "overdue_text",
    "shown_level",
    "sort_key",
    "sort_rank",
]

Status = Literal["open", "acknowledged"]
ChangeKind = Literal["created", "raised", "lowered", "updated", "reopened"]

RANK: dict[Level, int] = {Level.RED: 0, Level.YELLOW: 1, Level.GREEN: 2}
DEFAULT_REVIEW: dict[Level, Duration] = {
    Level.RED: parse_duration("P1D"),
    Level.YELLOW: parse_duration("P3D"),
}
LOCAL_TZ = ZoneInfo("Europe/Oslo")
_FAR = dt.datetime.max.replace(tzinfo=dt.UTC)


def shown_level(level: Level, override: Level | None = None) -> Level:
    """The level an item is shown and sorted by: the clinician's, else the engine's."""
    return override if override is not None else level


def sort_rank(level: Level, override: Level | None = None) -> int:
    """0 red, 1 yellow, 2 green, of the level the item is shown by."""
    return RANK[shown_level(level, override)]


def sort_key(
    level: Level, override: Level | None, due: dt.datetime | None
) -> tuple[int, dt.datetime]:
    """Worklist order: rank first, then the earliest due; no due time sorts last."""
    return sort_rank(level, override), due if due is not None else _FAR


def due_time(level: Level, action: Action | None, data_time: dt.datetime) -> dt.datetime | None:
    """When contact is due: the action's deadline, else the default review deadline."""
    if action is not None and action.within is not None:
        return action.within.after(data_time)
    default = DEFAULT_REVIEW.get(level)
    return default.after(data_time) if default is not None else None


@dataclass(frozen=True, slots=True)
class OpenItem:
    """What the policy needs to know of the open item of a patient and pathway."""

    level: Level
    status: Status
    override: Level | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """What becomes of the item: its engine level, status, whether the override stays."""

    level: Level
    status: Status
    keep_override: bool
    change: ChangeKind


def on_result(item: OpenItem | None, level: Level) -> Change:
    """A new triage result for a patient and pathway, with or without an open item."""
    if item is None:
        return Change(level, "open", False, "created")
    if level > item.level:
        kind: ChangeKind = "reopened" if item.status == "acknowledged" else "raised"
        return Change(level, "open", False, kind)
    kind = "lowered" if level < item.level else "updated"
    return Change(level, item.status, True, kind)


def on_problem(item: OpenItem | None) -> Change:
    """Data that could not be triaged, or a response overdue: at least yellow, re-opened."""
    if item is None:
        return Change(Level.YELLOW, "open", False, "created")
    level = max(item.level, Level.YELLOW)
    if item.status == "acknowledged":
        return Change(level, "open", True, "reopened")
    return Change(level, "open", True, "raised" if level > item.level else "updated")


def overdue_due(
    schedule: Schedule,
    last_response: dt.datetime | None,
    enrolled_at: dt.datetime,
    now: dt.datetime,
) -> dt.datetime | None:
    """The time the missing response was due, when it is overdue at ``now``; else None."""
    start = max(last_response, enrolled_at) if last_response is not None else enrolled_at
    due = schedule.every.after(start)
    limit = schedule.overdue_after.after(due) if schedule.overdue_after else due
    return due if now >= limit else None


def overdue_text(due: dt.datetime, language: str) -> str:
    """The reason shown for an overdue response, in the pathway's language."""
    day = due.astimezone(LOCAL_TZ)
    if language == "nn":
        return f"Skjema ikkje svart: forfall {day:%d.%m.%Y}"
    if language == "nb":
        return f"Skjema ikke besvart: forfalt {day:%d.%m.%Y}"
    return f"Questionnaire not answered: due {day:%Y-%m-%d}"


FAILURES: dict[str, dict[str, str]] = {
    "missing-data": {"nb": "data i innsendingen mangler", "en": "the data sent is missing"},
    "lost": {"nb": "oppgaven ble borte gjentatte ganger", "en": "the task was lost repeatedly"},
    "internal": {"nb": "intern feil", "en": "internal error"},
}


def failed_text(why: str, language: str) -> str:
    """The reason shown when data could not be triaged; ``why`` is a key of :data:`FAILURES`."""
    words = FAILURES.get(why, FAILURES["internal"])
    if language in ("nb", "nn"):
        return f"Kunne ikke triageres: {words['nb']}"
    return f"Could not be triaged: {words['en']}"


def no_reading_text(what: str, why: str, language: str) -> str:
    """The reason shown for an observation that arrived without a value."""
    if language in ("nb", "nn"):
        return f"Måling uten verdi ({what}): {why}"
    return f"Observation without a value ({what}): {why}"
