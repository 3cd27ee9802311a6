"""Worklist policy: how triage results become the items clinicians work. Pure: no SQL, no queue.

Decisions, in one place:

- **Ranking.** Red before yellow before green, by the clinician's level when an item was
  overridden (:func:`sort_rank`), else the engine's; within a level the earliest ``due``
  first, items without a due time last (:func:`sort_key`).
- **Due time.** A result's action ``within`` counted from the time of the data
  (:meth:`triage.Result.due`). A result without a deadline gets a default review
  deadline: yellow ``P3D`` and red ``P1D`` after the data (:data:`DEFAULT_REVIEW`); a
  green without one has no due time.
- **The level is held** (:func:`on_result`): an item's level is the worst of the results
  applied since it opened and the problems on it; newer data that evaluates lower never
  lowers it by itself (API.md: "An item's level never falls by itself"). The lower result
  is shown beside it as the item's ``newest`` (:func:`is_newer`), so a clinician can
  resolve at a glance. A rise re-opens an acknowledged item. The clinician's override is
  kept while the engine's level does not rise, and dropped when it rises (a judgement
  made on milder data does not hide worse data). A new upload judged red is news even on
  a red item: it re-opens it if acknowledged and drops an override below red.
- **Reasons are collected** (:func:`merge_reasons`): each reason is kept with the time of
  its data, one per rule (or per problem): the first time it reached its worst level (a
  later upload finding the same again does not move it; the history has every result).
- **The one exception**: the overdue flag leaves when a response to the pathway's
  questionnaire arrives (:func:`without_overdue`); the level is then the worst of what
  remains.
- **Withdrawn data** (``entered-in-error``) adds a reason and never lowers the level.
- **Re-judging** (a new pathway version, data withdrawn) updates an open item like any
  result, but opens a new one only for a result above green (:func:`opens_item`): a
  clinician who resolved a patient is not handed a green item by a publish.
- **Problems** (:func:`on_problem`: a job that could not be triaged, a response overdue, a
  form no pathway reads) make an item at least yellow and never lower it, and re-open it:
  a person must look.
- **Overdue** (:func:`overdue_due`): a response is due ``every`` after the last response
  (or after enrolment when none came), and overdue ``overdue_after`` later.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal
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
    "is_newer",
    "merge_reasons",
    "no_reading_text",
    "note_text",
    "on_problem",
    "on_result",
    "opens_item",
    "overdue_due",
    "overdue_text",
    "reason_key",
    "shown_level",
    "sort_key",
    "sort_rank",
    "without_overdue",
]

Status = Literal["open", "acknowledged"]
ChangeKind = Literal["created", "raised", "updated", "reopened", "overdue-cleared"]

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

    level: Level  # held: the worst since the item opened
    status: Status
    override: Level | None = None
    result_level: Level | None = None  # the worst result since it opened (problems aside)


@dataclass(frozen=True, slots=True)
class Change:
    """What becomes of the item: its held level, status, whether the override stays."""

    level: Level
    status: Status
    keep_override: bool
    change: ChangeKind
    result_level: Level | None = None


def on_result(item: OpenItem | None, level: Level, new_data: bool = True) -> Change:
    """A new triage result for a patient and pathway, with or without an open item.

    The held level only rises: a lower result is shown beside it, never instead of it.
    A red judgement of new data (``new_data``: an upload, not a re-judgement) is news even
    on a red item: it re-opens an acknowledged item and drops a clinician's lower
    override, which was made on earlier data (a patient whose normal is another gets
    their own threshold instead)."""
    if item is None:
        return Change(level, "open", False, "created", level)
    worst_result = max(level, item.result_level) if item.result_level is not None else level
    overridden_lower = item.override is not None and item.override < level
    if level > item.level or (new_data and level == Level.RED and item.level == Level.RED):
        if level == item.level and item.status == "open" and not overridden_lower:
            return Change(item.level, "open", True, "updated", worst_result)
        kind: ChangeKind = "reopened" if item.status == "acknowledged" else "raised"
        return Change(level, "open", False, kind, worst_result)
    return Change(item.level, item.status, True, "updated", worst_result)


def on_problem(item: OpenItem | None) -> Change:
    """Data that could not be triaged, or a response overdue: at least yellow, re-opened."""
    if item is None:
        return Change(Level.YELLOW, "open", False, "created")
    level = max(item.level, Level.YELLOW)
    if item.status == "acknowledged":
        return Change(level, "open", True, "reopened", item.result_level)
    kind: ChangeKind = "raised" if level > item.level else "updated"
    return Change(level, "open", True, kind, item.result_level)


def opens_item(level: Level) -> bool:
    """Whether a re-judgement (new version, withdrawn data) may open a new item."""
    return level > Level.GREEN


Reason = dict[str, Any]


def reason_key(reason: Reason) -> str:
    """What makes two reasons the same reason: its key, else its rule, else kind and text."""
    if reason.get("key"):
        return str(reason["key"])
    if reason.get("rule"):
        return f"rule:{reason['rule']}"
    return f"{reason.get('kind', '')}:{reason.get('text', '')}"


def _rank(reason: Reason) -> tuple[int, str]:
    return int(Level.parse(str(reason["level"]))), str(reason.get("at") or "")


def merge_reasons(held: list[Reason], new: list[Reason]) -> list[Reason]:
    """The item's reasons with ``new`` added: one per :func:`reason_key`, the first at the
    worst level it reached, with the time of its data (a later upload finding the same
    thing again does not move it); worst first, newest first."""
    by_key = {reason_key(reason): reason for reason in held}
    for reason in sorted(new, key=lambda r: str(r.get("at") or "")):
        key = reason_key(reason)
        old = by_key.get(key)
        if old is None or _rank(reason)[0] > _rank(old)[0]:
            by_key[key] = reason
    return sorted(by_key.values(), key=_rank, reverse=True)


def without_overdue(
    reasons: list[Reason], result_level: Level | None
) -> tuple[list[Reason], Level]:
    """The reasons once the overdue questionnaire has arrived, and the level they hold."""
    kept = [reason for reason in reasons if reason.get("kind") != "overdue"]
    levels = [Level.parse(str(reason["level"])) for reason in kept]
    if result_level is not None:
        levels.append(result_level)
    return kept, max(levels, default=Level.GREEN)


def is_newer(candidate: Reason, current: Reason | None) -> bool:
    """Whether a result's ``newest`` summary is of newer data than the one shown.

    Compared by the time of the data (``at``, an ISO time in UTC), then by when it was made
    (``made``): a late upload of old data never becomes the newest."""
    if current is None:
        return True
    return (str(candidate["at"]), str(candidate.get("made", ""))) >= (
        str(current["at"]),
        str(current.get("made", "")),
    )


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


_NOTES: dict[str, dict[str, str]] = {
    "unread-form": {
        "nb": "Skjema som ingen forløp leser ({form}): les svarene",
        "nn": "Skjema som ingen forløp les ({form}): les svara",
        "en": "A form no pathway reads ({form}): read the answers",
    },
    "withdrawn": {
        "nb": "Trukket tilbake som feilregistrert: {what} fra {time}, vurdert {level}",
        "nn": "Trekt tilbake som feilregistrert: {what} frå {time}, vurdert {level}",
        "en": "Withdrawn as entered in error: {what} of {time}, judged {level}",
    },
    "corrected": {
        "nb": "Korrigert: {what} fra {time} (versjon {version}), tidligere vurdert {level}",
        "nn": "Korrigert: {what} frå {time} (versjon {version}), tidlegare vurdert {level}",
        "en": "Corrected: {what} of {time} (version {version}), judged {level} before",
    },
    "not-data": {
        "nb": "{what} kom merket som {status} og er ikke brukt: se på den",
        "nn": "{what} kom merkt som {status} og er ikkje brukt: sjå på den",
        "en": "{what} arrived marked {status} and was not used: look at it",
    },
    "dated-ahead": {
        "nb": "{what} er datert fram i tid ({time}); sjekk klokken på apparatet",
        "nn": "{what} er datert fram i tid ({time}); sjekk klokka på apparatet",
        "en": "{what} is dated in the future ({time}); check the device's clock",
    },
}
_LEVEL_WORDS = {
    "nb": {"red": "rød", "yellow": "gul", "green": "grønn"},
    "nn": {"red": "raud", "yellow": "gul", "green": "grøn"},
    "en": {"red": "red", "yellow": "yellow", "green": "green"},
}


def note_text(kind: str, language: str, *, when: dt.datetime | None = None, **words: Any) -> str:
    """The text of a note the worker puts on an item (``kind`` a key of the table above),
    in the pathway's language; ``when`` is shown on the Oslo clock, ``level`` in words."""
    lang = language if language in ("nb", "nn") else "en"
    if when is not None:
        words["time"] = f"{when.astimezone(LOCAL_TZ):%d.%m.%Y %H:%M}"
    if "level" in words:
        words["level"] = _LEVEL_WORDS[lang].get(str(words["level"]), str(words["level"]))
    return _NOTES[kind][lang].format(**words)
