"""Summaries of device readings over a time window.

A window ends at the newest reading and reaches back the window's duration, both ends
included: ``P3D`` before a reading at 20 Nov 08:00 includes one at 17 Nov 08:00.
Readings are kept sorted by time, so a window is found by bisection and each summary is
one pass over the readings inside it.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from triage.model import ObservationInput
from triage.readings import Reading

__all__ = ["Series", "Summary", "build_series", "summarize"]


@dataclass(slots=True)
class Series:
    """One input name's readings, oldest first."""

    times: list[dt.datetime] = field(default_factory=list)
    values: list[float] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Summary:
    """What an observation input came to: a value (or ``None``: missing) and how."""

    value: Decimal | None
    count: int
    start: dt.datetime | None
    end: dt.datetime | None


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


def summarize(series: Series | None, spec: ObservationInput) -> Summary:
    """The value of ``spec`` over ``series``; ``count`` is 0 and the rest missing if empty."""
    if series is None or not series.values:
        zero = Decimal(0) if spec.form == "count" else None
        return Summary(zero, 0, None, None)
    end = series.times[-1]
    if spec.form == "newest" or spec.window is None:
        return Summary(_exact(series.values[-1]), 1, end, end)
    start = spec.window.before(end)
    first = bisect.bisect_left(series.times, start)
    values = series.values[first:]
    n = len(values)
    window_start = series.times[first]
    form = spec.form
    result: Decimal
    if form == "count":
        result = Decimal(n)
    elif form == "mean":
        result = _rounded(math.fsum(values) / n)
    elif form == "min":
        result = _exact(min(values))
    elif form == "max":
        result = _exact(max(values))
    elif form == "change":
        result = _exact(values[-1]) - _exact(values[0])
    elif form == "percent_below":
        limit = float(spec.value or 0)
        result = _rounded(100.0 * sum(1 for v in values if v < limit) / n, 4)
    elif form == "percent_above":
        limit = float(spec.value or 0)
        result = _rounded(100.0 * sum(1 for v in values if v > limit) / n, 4)
    else:  # percent_between, both ends included
        low, high = float(spec.low or 0), float(spec.high or 0)
        result = _rounded(100.0 * sum(1 for v in values if low <= v <= high) / n, 4)
    return Summary(result, n, window_start, end)
