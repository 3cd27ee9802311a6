"""Summaries of device readings over a time window.

A window ends at the newest reading and reaches back the window's duration, both ends
included: ``P3D`` before a reading at 20 Nov 08:00 includes one at 17 Nov 08:00.
Readings are kept sorted by time, so a window is found by bisection. A summary may be
asked of a prefix of the readings (those visible as of some time, RULES.md "When"), and
one upload of many readings asks it once per reading, so no summary walks its window in
Python: counts and changes are read off the ends, means and extremes use C builtins on
a slice, and the percentages use running counts built once per series and limit.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import operator
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import accumulate, repeat

from triage.model import ObservationInput
from triage.readings import Reading

__all__ = ["Series", "Summary", "build_series", "summarize"]

# A summary is stored as a JSON number and read back as a float: beyond this it is
# infinity to every reader (and PostgreSQL refuses Infinity in JSON).
_FLOAT_MAX = Decimal(repr(sys.float_info.max))


@dataclass(slots=True)
class Series:
    """One input name's readings, oldest first.

    ``counts`` caches running counts of readings below, above or between limits, so a
    percentage over any window of any prefix is two look-ups: ``counts[key][i]`` is how
    many of the first ``i`` readings qualify. Change ``times``/``values`` only by
    building a new series.
    """

    times: list[dt.datetime] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    counts: dict[tuple[str, float, float], list[int] | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def end_at(self, as_of: dt.datetime) -> int:
        """How many readings are visible as of ``as_of`` (those at or before it)."""
        return bisect.bisect_right(self.times, as_of)

    def count(self, kind: str, low: float, high: float, first: int, end: int) -> int:
        """How many of ``values[first:end]`` are below ``low`` (``kind`` ``"below"``),
        above it (``"above"``) or within ``low..high`` with both ends (``"between"``)."""
        key = (kind, low, high)
        running = self.counts.get(key)
        if running is None:
            if key not in self.counts:
                # Most series are summarised once (one upload, one judgement): counting
                # the window costs less than running counts, so those wait for a 2nd ask.
                self.counts[key] = None
                return _count(kind, low, high, self.values[first:end])
            running = list(accumulate(_tests(kind, low, high, self.values), initial=0))
            self.counts[key] = running
        return running[end] - running[first]


def _count(kind: str, low: float, high: float, values: list[float]) -> int:
    if kind == "below":
        return sum(1 for v in values if v < low)
    if kind == "above":
        return sum(1 for v in values if v > low)
    return sum(1 for v in values if low <= v <= high)


def _tests(kind: str, low: float, high: float, values: list[float]) -> Iterator[bool]:
    if kind == "below":
        return map(operator.lt, values, repeat(low))  # in C, unlike a generator
    if kind == "above":
        return map(operator.gt, values, repeat(low))
    return (low <= v <= high for v in values)


@dataclass(frozen=True, slots=True)
class Summary:
    """What an observation input came to: a value (or ``None``: missing) and how.

    ``overflow``: the readings were so large that the summary is not a finite number a
    float can hold (a mean of readings of 1e308); the value is then ``None``.
    """

    value: Decimal | None
    count: int
    start: dt.datetime | None
    end: dt.datetime | None
    overflow: bool = False


def build_series(readings: Iterable[Reading]) -> dict[str, Series]:
    """Group readings by name and sort each group by time."""
    grouped: dict[str, list[tuple[dt.datetime, float]]] = {}
    for reading in readings:
        grouped.setdefault(reading.name, []).append((reading.time, reading.value))
    out: dict[str, Series] = {}
    for name, pairs in grouped.items():
        pairs.sort(key=lambda pair: pair[0])
        out[name] = Series([t for t, _ in pairs], [v for _, v in pairs])
    return out


def _exact(value: float) -> Decimal:
    return Decimal(repr(value))


def _rounded(value: float, places: int = 6) -> Decimal:
    # Window arithmetic in floats leaves noise (82.15000000000001); a reading has a few
    # decimals at most, so six places keep every real difference and drop the noise.
    return Decimal(repr(round(value, places)))


def summarize(series: Series | None, spec: ObservationInput, end: int | None = None) -> Summary:
    """The value of ``spec`` over ``series``; ``count`` is 0 and the rest missing if empty.

    ``end`` limits the series to its first ``end`` readings (those visible as of a time:
    :meth:`Series.end_at`); the window then ends at the newest of them. Never raises for
    the values themselves: a summary too large for a float comes back missing, with
    ``overflow`` set.
    """
    visible = 0 if series is None else len(series.values) if end is None else end
    if series is None or visible <= 0:
        zero = Decimal(0) if spec.form == "count" else None
        return Summary(zero, 0, None, None)
    times, values = series.times, series.values
    newest = times[visible - 1]
    if spec.form == "newest" or spec.window is None:
        return _checked(_exact(values[visible - 1]), 1, newest, newest)
    try:
        start = spec.window.before(newest)
    except OverflowError:  # a window reaching back past year 1 holds every reading
        first = 0
    else:
        first = bisect.bisect_left(times, start, 0, visible)
    n = visible - first
    window_start = times[first]
    form = spec.form
    result: Decimal
    if form == "count":
        result = Decimal(n)
    elif form == "mean":
        try:
            total = math.fsum(values[first:visible])
        except OverflowError:
            return Summary(None, n, window_start, newest, overflow=True)
        result = _rounded(total / n)
    elif form == "min":
        result = _exact(min(values[first:visible]))
    elif form == "max":
        result = _exact(max(values[first:visible]))
    elif form == "change":
        result = _exact(values[visible - 1]) - _exact(values[first])
    elif form == "percent_below":
        below = series.count("below", float(spec.value or 0), 0.0, first, visible)
        result = _rounded(100.0 * below / n, 4)
    elif form == "percent_above":
        above = series.count("above", float(spec.value or 0), 0.0, first, visible)
        result = _rounded(100.0 * above / n, 4)
    else:  # percent_between, both ends included
        low, high = float(spec.low or 0), float(spec.high or 0)
        inside = series.count("between", low, high, first, visible)
        result = _rounded(100.0 * inside / n, 4)
    return _checked(result, n, window_start, newest)


def _checked(value: Decimal, count: int, start: dt.datetime, end: dt.datetime) -> Summary:
    if not value.is_finite() or abs(value) > _FLOAT_MAX:
        return Summary(None, count, start, end, overflow=True)
    return Summary(value, count, start, end)
