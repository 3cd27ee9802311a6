"""A patient's device data made ready for judging as of any time, and what a cut leaves out.

:func:`prepare` routes, converts and sorts the readings once; the engine then judges
them as of a time (:func:`triage.engine.evaluate_at`), seeing only the readings at or
before it (:meth:`triage.windows.Series.end_at`). :func:`future_reason` says how many
readings a cut left out, for :func:`triage.engine.evaluate`, which cuts at "now".
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

from triage.levels import Level
from triage.model import Pathway
from triage.readings import Measurement, Reading
from triage.result import Reason
from triage.units import UnitError, convert
from triage.windows import Series, build_series

__all__ = ["Prepared", "future_reason", "prepare"]


@dataclass(frozen=True)
class Prepared:
    """A patient's readings for one pathway: routed, converted and sorted once.

    Build it with :func:`prepare`, then judge as of any number of times with
    :func:`triage.engine.evaluate_at`. ``series`` maps each input observation name to
    its readings sorted by time; ``reasons`` are the problems found while routing (a
    unit that cannot be converted, a value that is not a number), which belong to every
    judgement.
    """

    series: dict[str, Series]
    reasons: tuple[Reason, ...]


def prepare(
    pathway: Pathway,
    *,
    readings: Iterable[Reading] = (),
    measurements: Iterable[Measurement] = (),
) -> Prepared:
    """Route, convert and sort a patient's device data for ``pathway``.

    ``readings`` are already routed to input names in the pathway's units;
    ``measurements`` are routed here by any of their codings (measurements this pathway
    does not read are left out) and converted to the unit the pathway declares. Never
    raises for bad data: a unit that cannot be converted or a value that is not a
    number becomes a yellow reason in :attr:`Prepared.reasons`.
    """
    system: list[Reason] = []
    routed = _route(pathway, readings, measurements, system)
    return Prepared(build_series(routed), tuple(system))


def _route(
    pathway: Pathway,
    readings: Iterable[Reading],
    measurements: Iterable[Measurement],
    system: list[Reason],
) -> list[Reading]:
    out = []
    for reading in readings:
        if math.isfinite(reading.value):
            out.append(reading)
        else:
            # NaN compares false with everything: it would quietly hide a rule.
            system.append(
                Reason(Level.YELLOW, f"{reading.name}: a reading that is not a number", kind="unit")
            )
    for m in measurements:
        route = pathway.route_of(m)
        if route is None:
            continue
        try:
            value = convert(m.value, m.unit, route.unit, analyte=route.analyte)
        except UnitError as exc:
            system.append(Reason(Level.YELLOW, f"{route.name}: {exc}", kind="unit"))
            continue
        out.append(Reading(route.name, value, route.unit, m.time))
    return out


def future_reason(prepared: Prepared, limit: dt.datetime, lang: str) -> Reason | None:
    """The yellow reason for readings dated after ``limit``, or ``None`` if there are none."""
    count = 0
    latest: dt.datetime | None = None
    for series in prepared.series.values():
        ahead = len(series.times) - series.end_at(limit)
        if ahead:
            count += ahead
            latest = series.times[-1] if latest is None else max(latest, series.times[-1])
    if latest is None:
        return None
    return Reason(Level.YELLOW, _future_text(count, latest, lang), kind="future")


def _future_text(count: int, latest: dt.datetime, lang: str) -> str:
    if lang in ("nb", "nn"):
        return (
            f"{count} måling(er) datert fram i tid (seneste {latest.isoformat()}) er "
            f"ikke brukt; sjekk klokken på apparatet"
        )
    return (
        f"{count} reading(s) dated in the future (latest {latest.isoformat()}) were "
        f"not used; check the device's clock"
    )
