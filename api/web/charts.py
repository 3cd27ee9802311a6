"""A patient's device readings as chart data, with the pathway's thresholds beside them:
the target band and time in range for percent windows, the change over a change window,
and every threshold a rule compares a reading with (the patient's own value when enrolled).
The readings are read by :func:`usecases.overview.patient_overview`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from store.models import Reading
from triage import Pathway
from triage.model import ObservationInput
from triage.readings import Measurement
from triage.units import can_convert, convert
from usecases.overview import MAX_POINTS, horizon, observation_inputs

# Forms whose value is in the reading's own unit: their thresholds are drawn as lines.
VALUE_FORMS = ("newest", "mean", "min", "max")


def reading_thresholds(
    pathway: Pathway, observation: str, own: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The thresholds the pathway's rules compare a reading with: for each threshold, the
    rules whose ``when`` uses both it and an input of that observation. The value is the
    patient's own (``own``) when set, else the pathway's; ordered by value."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for rule in pathway.rules:
        names = rule.when.names
        specs = [
            spec
            for n in names
            if isinstance(spec := pathway.inputs.get(n), ObservationInput)
            and spec.observation == observation
        ]
        for name in names:
            threshold = pathway.thresholds.get(name)
            if threshold is None:
                continue
            value = float((own or {}).get(name, threshold.value))
            for spec in specs:
                entry = found.setdefault(
                    (name, spec.name),
                    {
                        "name": name,
                        "value": value,
                        "input": spec.name,
                        "form": spec.form,
                        "own": name in (own or {}),
                        "rules": [],
                        "level": rule.level,
                    },
                )
                entry["rules"].append(rule.id)
                entry["level"] = max(entry["level"], rule.level)
    for entry in found.values():
        entry["level"] = entry["level"].label
    return sorted(found.values(), key=lambda e: (e["value"], e["name"], e["input"]))


def chart_data(
    readings: list[Reading],
    pathways: list[Pathway],
    now: dt.datetime,
    own: dict[str, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """One chart per pathway and reading it reads, of ``readings`` (the patient's newest,
    newest first) within its horizon; ``own`` holds the patient's own thresholds per
    pathway id."""
    wanted = [
        (p, name, observation_inputs(p, name)) for p in pathways for name in p.observation_units
    ]
    # The newest readings when there are more than that, drawn oldest first.
    measured = [(reading, _measurement(reading)) for reading in reversed(readings)]
    charts = []
    for pathway, name, specs in wanted:
        start = now - horizon(specs)
        unit = pathway.observation_units[name]
        points = []
        for reading, measurement in measured:
            route = pathway.route_of(measurement)
            if route is None or route.name != name or reading.time < start:
                continue
            value = reading.value
            if reading.unit != unit:
                if not can_convert(reading.unit, unit, analyte=route.analyte):
                    continue  # the engine refused it too: never drawn in the wrong unit
                value = convert(value, reading.unit, unit, analyte=route.analyte)
            points.append({"t": reading.time.isoformat(), "v": round(value, 3)})
        if points:
            limits = reading_thresholds(pathway, name, (own or {}).get(pathway.id))
            charts.append(_chart(pathway, name, unit, points[-MAX_POINTS:], specs, limits, now))
    return charts


def _measurement(reading: Reading) -> Measurement:
    """A stored reading as the engine routes it: by its first coding and every other one
    the device sent (``alt``), as the worker does."""
    alt = reading.alt or {}
    return Measurement(
        code=reading.code,
        value=reading.value,
        unit=reading.unit,
        time=reading.time,
        panel=reading.panel,
        alt_codes=tuple(alt.get("codes") or ()),
        alt_panels=tuple(alt.get("panels") or ()),
    )


def _chart(
    pathway: Pathway,
    name: str,
    unit: str,
    points: list[dict[str, Any]],
    specs: list[ObservationInput],
    limits: list[dict[str, Any]],
    now: dt.datetime,
) -> dict[str, Any]:
    chart: dict[str, Any] = {
        "id": f"chart-{pathway.id}-{name}",
        "pathway": pathway.id,
        "name": name,
        "unit": unit,
        "points": points,
        "band": None,
        "lines": [],
        "tir": None,
        "change": None,
    }
    for spec in specs:
        window = spec.window.approx_timedelta() if spec.window is not None else None
        inside = [p["v"] for p in points if window is None or _time(p) >= now - window]
        if spec.form == "percent_between" and spec.low is not None and spec.high is not None:
            low, high = float(spec.low), float(spec.high)
            chart["band"] = {"low": low, "high": high}
            if inside:
                share = sum(low <= v <= high for v in inside) / len(inside)
                chart["tir"] = round(100 * share, 1)
        elif spec.form in ("percent_below", "percent_above") and spec.value is not None:
            chart["lines"].append({"value": float(spec.value), "label": spec.describe()})
        elif spec.form == "change" and spec.window is not None and window is not None:
            newest = _time(points[-1])
            recent = [p for p in points if _time(p) >= newest - window]
            change = round(recent[-1]["v"] - recent[0]["v"], 2)
            chart["change"] = {
                "window": spec.window.text,
                "value": change,
                "thresholds": [t for t in limits if t["input"] == spec.name],
            }
    for limit in limits:
        if limit["form"] in VALUE_FORMS:
            line = {"value": limit["value"], "label": limit["name"], "level": limit["level"]}
            chart["lines"].append(line)
    unique = {(line["value"], line["label"]): line for line in chart["lines"]}
    chart["lines"] = [unique[key] for key in sorted(unique)]
    return chart


def _time(point: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(point["t"])
