"""ISO 8601 durations, as pathways write windows, schedules and action deadlines.

``P14D`` (14 days), ``PT12H`` (12 hours), ``P6M`` (6 months). Only whole, positive
amounts: a fractional month has no calendar meaning, and a zero window or deadline is
always a mistake in a pathway file.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, UTC, datetime, timedelta

__all__ = ["Duration", "DurationError", "parse_duration"]

_EXAMPLES = "P14D (14 days), PT12H (12 hours), P6M (6 months)"
_LONGEST = timedelta(days=100 * 365)
_DATE_PARTS = (("years", "Y"), ("months", "M"), ("weeks", "W"), ("days", "D"))
_TIME_PARTS = (("hours", "H"), ("minutes", "M"), ("seconds", "S"))
_PATTERN = re.compile(
    r"P(?:(?P<years>[0-9]+)Y)?(?:(?P<months>[0-9]+)M)?(?:(?P<weeks>[0-9]+)W)?"
    r"(?:(?P<days>[0-9]+)D)?"
    r"(?P<T>T(?:(?P<hours>[0-9]+)H)?(?:(?P<minutes>[0-9]+)M)?(?:(?P<seconds>[0-9]+)S)?)?"
)


class DurationError(ValueError):
    """A text is not a duration this engine accepts; the message says how to write one."""


@dataclass(frozen=True, slots=True)
class Duration:
    """A positive ISO 8601 duration with whole-number parts. Build it with :func:`parse_duration`.

    Months and years are calendar months and years, days and weeks are calendar days
    on the wall clock, and hours, minutes and seconds are elapsed time.
    """

    years: int
    months: int
    weeks: int
    days: int
    hours: int
    minutes: int
    seconds: int
    text: str

    def after(self, t: datetime) -> datetime:
        """Return ``t`` plus this duration, keeping ``t``'s tzinfo.

        Years and months are added first, with the day clamped to the month's end
        (31 Jan + P1M is 28 or 29 Feb); then days and weeks on the wall clock (08:00
        stays 08:00 across a daylight-saving change); then hours, minutes and seconds
        as elapsed time.

        Raises:
            ValueError: ``t`` is naive; an instant needs its time zone.
            OverflowError: the result is outside the years datetime can hold.
        """
        return self._shift(t, 1)

    def before(self, t: datetime) -> datetime:
        """Return ``t`` minus this duration, with the same rules as :meth:`after`.

        Raises:
            ValueError: ``t`` is naive; an instant needs its time zone.
            OverflowError: the result is outside the years datetime can hold.
        """
        return self._shift(t, -1)

    def approx_timedelta(self) -> timedelta:
        """Return a fixed length for ordering durations by urgency.

        A year counts as 365 days and a month as 30 days, so this is not for
        calendar arithmetic: use :meth:`after` and :meth:`before` for that.
        """
        return timedelta(
            days=self.years * 365 + self.months * 30 + self.weeks * 7 + self.days,
            hours=self.hours,
            minutes=self.minutes,
            seconds=self.seconds,
        )

    def __str__(self) -> str:
        """Return the canonical ISO 8601 text, e.g. ``P14D``."""
        return self.text

    def _shift(self, t: datetime, sign: int) -> datetime:
        if t.tzinfo is None or t.utcoffset() is None:
            raise ValueError(f"{t.isoformat()} has no time zone; {self.text} needs one")
        shifted = _add_months(t, sign * (self.years * 12 + self.months))
        days = self.weeks * 7 + self.days
        if days:  # even a zero timedelta resets fold, moving 01:30 (second time) an hour
            shifted += timedelta(days=sign * days)
        elapsed = timedelta(hours=self.hours, minutes=self.minutes, seconds=self.seconds)
        if not elapsed:
            return shifted
        # Aware arithmetic in one tzinfo is wall-clock arithmetic, so go through UTC for
        # elapsed time: PT24H across a daylight-saving change is 23 or 25 wall-clock hours.
        return (shifted.astimezone(UTC) + sign * elapsed).astimezone(shifted.tzinfo)


def parse_duration(text: object) -> Duration:
    """Parse an ISO 8601 duration such as ``P14D``, ``PT12H``, ``P1DT12H`` or ``P1Y2M``.

    Accepts ``PnYnMnWnDTnHnMnS`` with whole numbers, each part optional but at least
    one present and the total not zero. Parts given as 0 are left out of the
    canonical :attr:`Duration.text` (``P0Y14D`` becomes ``P14D``).

    Raises:
        DurationError: ``text`` is not such a duration (lowercase, negative, fractional,
            with spaces, not a string, zero, longer than 100 years ...); the message
            says what was given and how to write it, with a correction when one is
            obvious.
    """
    if not isinstance(text, str):
        # YAML reads `within: 14` as the number 14; days are the likeliest intent.
        days = type(text) is int and text > 0
        hint = _suggestion(str(text)) if days else f"; write e.g. {_EXAMPLES}"
        raise DurationError(f"{text!r} is not an ISO 8601 duration{hint}")
    match = _PATTERN.fullmatch(text)
    if match is None:
        raise DurationError(_explain(text))
    digits = {name: value for name, value in match.groupdict().items() if name != "T"}
    if all(value is None for value in digits.values()):
        raise DurationError(f"{text!r} has no amount; write e.g. {_EXAMPLES}")
    if match["T"] == "T":
        without_t = text[:-1]
        raise DurationError(
            f"{text!r} has a T with no hours, minutes or seconds after it; "
            f"leave the T out ({without_t}) or add a time, e.g. {without_t}T12H"
        )
    if any(value is not None and len(value) > 9 for value in digits.values()):
        raise DurationError(f"{text!r} is longer than 100 years; no window needs that")
    parts = {name: int(value or 0) for name, value in digits.items()}
    duration = Duration(**parts, text=_canonical(parts))
    if not duration.approx_timedelta():
        raise DurationError(
            f"{text!r} is a duration of zero, which makes no sense for a window, schedule "
            "or deadline; give at least one day or hour, e.g. P1D or PT1H"
        )
    if duration.approx_timedelta() > _LONGEST:
        raise DurationError(f"{text!r} is longer than 100 years; no window needs that")
    return duration


def _canonical(parts: dict[str, int]) -> str:
    date = "".join(f"{parts[name]}{letter}" for name, letter in _DATE_PARTS if parts[name])
    time = "".join(f"{parts[name]}{letter}" for name, letter in _TIME_PARTS if parts[name])
    return "P" + date + ("T" + time if time else "")


def _explain(text: str) -> str:
    """Say why ``text`` is not a duration, with the likely intended one if there is one."""
    problem = f"{text!r} is not an ISO 8601 duration"
    if not text.strip():
        problem = "no duration given"
    elif any(char.isspace() for char in text):
        problem += ": it must not contain spaces"
    elif "-" in text:
        problem += ": a duration cannot be negative"
    elif "." in text or "," in text:
        problem += ": use whole numbers (PT36H rather than P1.5D)"
    elif _PATTERN.fullmatch(text.upper()):
        problem += ": the letters must be capitals"
    return problem + _suggestion(text)


def _suggestion(text: str) -> str:
    compact = "".join(text.split()).upper().replace("-", "")
    for candidate in (compact, "P" + compact, "PT" + compact, "P" + compact + "D"):
        if not _PATTERN.fullmatch(candidate):
            continue  # also keeps parse_duration from coming back here
        try:
            guess = parse_duration(candidate)
        except DurationError:
            continue
        return f"; did you mean {guess} ({_describe(guess)})?"
    return f"; write e.g. {_EXAMPLES}"


def _describe(duration: Duration) -> str:
    """Spell a duration out in English words: ``P1DT12H`` is "1 day 12 hours"."""
    names = [name for name, _ in _DATE_PARTS + _TIME_PARTS]
    amounts = ((getattr(duration, name), name) for name in names)
    return " ".join(f"{n} {name if n != 1 else name[:-1]}" for n, name in amounts if n)


def _add_months(t: datetime, months: int) -> datetime:
    """Shift ``t`` by whole calendar months, clamping the day to the target month's end."""
    if not months:
        return t
    year, month_index = divmod(t.year * 12 + t.month - 1 + months, 12)
    if not MINYEAR <= year <= MAXYEAR:
        raise OverflowError("date value out of range")
    last_day = calendar.monthrange(year, month_index + 1)[1]
    return t.replace(year=year, month=month_index + 1, day=min(t.day, last_day))
