"""An Observation as device readings: :class:`~triage.readings.Measurement` values.

Choices:

- One Measurement per value: a plain ``valueQuantity`` gives one with ``code`` = the
  observation's first coding (``"system|code"``) and its other codings as ``alt_codes``;
  each component with a value gives one with the component's first coding as ``code``
  (the others as ``alt_codes``) and the observation's first coding as ``panel`` (the
  others as ``alt_panels``). A device may code a value in SNOMED CT first and LOINC
  second, and routing looks at every coding (``Measurement.codes``, ``.panels``); the
  first codings stay ``code``/``panel`` so that stored data keeps its meaning. The
  observation's codings are also in :attr:`ObservationData.codes`.
- :attr:`ObservationData.locations` gives, parallel to the measurements, the FHIRPath of
  each one's ``valueQuantity`` (``Observation.component[1].valueQuantity``), so that a
  later check can name the exact field.
- :func:`plausibility_problems`: a value no body can show (:mod:`triage.plausibility`),
  one ``error`` issue each, located at its ``valueQuantity.value``. Not raised here: the
  caller refuses the upload with them, while reading stored data must not fail.
- What arrived but is no reading becomes a ``warning`` issue in ``not_readings``, never a
  silent nothing: a ``cancelled`` or ``entered-in-error`` observation (no measurements at
  all), a component or observation with ``dataAbsentReason`` or without a value.
- Refused (:class:`~fhir_adapters.outcome.FhirInputError`): a value that is not a Quantity
  (``not-supported``), a Quantity with a comparator (``<2.2`` is no exact reading) or
  without a number, a unit :func:`triage.units.normalize_unit` does not know, no coding
  with a code, and no usable effective time.
- Unit: ``valueQuantity.code`` when ``system`` is UCUM, else the ``unit`` text.
- Time: ``effectiveDateTime``, else ``effectiveInstant``, else ``effectivePeriod.end``
  (else its start). A date-only value means midnight in Europe/Oslo; a partial date
  (``2026-11``) and a time without offset are refused.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.observation import Observation, ObservationComponent
from fhir.resources.R4B.quantity import Quantity

from fhir_adapters.outcome import FhirInputError, OutcomeIssue
from triage.plausibility import implausible
from triage.readings import Measurement
from triage.units import UnitError, normalize_unit

__all__ = [
    "LOCAL_TZ",
    "UCUM",
    "ObservationData",
    "observation_measurements",
    "plausibility_problems",
]

UCUM = "http://unitsofmeasure.org"
LOCAL_TZ = ZoneInfo("Europe/Oslo")
_NOT_A_READING = frozenset({"cancelled", "entered-in-error"})
_OTHER_VALUES = (
    "valueCodeableConcept",
    "valueString",
    "valueBoolean",
    "valueInteger",
    "valueRange",
    "valueRatio",
    "valueSampledData",
    "valueTime",
    "valueDateTime",
    "valuePeriod",
)


@dataclass(frozen=True, slots=True)
class ObservationData:
    """The readings in one Observation, and what arrived without being a reading."""

    measurements: list[Measurement]
    not_readings: list[OutcomeIssue] = field(default_factory=list)
    status: str = ""
    code: str = ""  # the first coding, "system|code"
    codes: list[str] = field(default_factory=list)  # every coding, in order
    # Parallel to measurements: where each one's valueQuantity is, as a FHIRPath.
    locations: list[str] = field(default_factory=list)


def observation_measurements(obs: Observation) -> ObservationData:
    """The measurements of ``obs``; raises FhirInputError for what cannot be read."""
    codes = _codes(obs.code, "Observation.code")
    status = str(obs.status or "")
    if status in _NOT_A_READING:
        note = _warning("informational", f"the observation is {status}: no reading", "Observation")
        return ObservationData([], [note], status, codes[0], codes)

    time = _effective_time(obs)
    measurements: list[Measurement] = []
    locations: list[str] = []
    notes: list[OutcomeIssue] = []
    components = obs.component or []
    value = _quantity(obs, "Observation")
    if value is not None:
        number, unit = _number_and_unit(value, "Observation.valueQuantity")
        measurements.append(Measurement(codes[0], number, unit, time, alt_codes=_others(codes)))
        locations.append("Observation.valueQuantity")
    elif not components:
        notes.append(_absent(obs.dataAbsentReason, "Observation"))
    for index, component in enumerate(components):
        where = f"Observation.component[{index}]"
        part_codes = _codes(component.code, f"{where}.code")
        quantity = _quantity(component, where)
        if quantity is None:
            notes.append(_absent(component.dataAbsentReason, where))
            continue
        number, unit = _number_and_unit(quantity, f"{where}.valueQuantity")
        measurements.append(
            Measurement(
                part_codes[0],
                number,
                unit,
                time,
                panel=codes[0],
                alt_codes=_others(part_codes),
                alt_panels=_others(codes),
            )
        )
        locations.append(f"{where}.valueQuantity")
    return ObservationData(measurements, notes, status, codes[0], codes, locations)


def plausibility_problems(data: ObservationData, raw: dict[str, Any]) -> list[OutcomeIssue]:
    """One ``error`` issue (code ``value``) per measurement of ``data`` that no body can
    show, located at its value (``Observation.component[1].valueQuantity.value``).

    ``raw`` is the Observation's JSON; it locates the values only when ``data`` carries no
    :attr:`~ObservationData.locations` (built by hand, not by observation_measurements).
    """
    places = data.locations if len(data.locations) == len(data.measurements) else []
    if not places:
        places = _quantity_places(raw)
    issues: list[OutcomeIssue] = []
    for index, measurement in enumerate(data.measurements):
        problem = implausible(measurement.codes, measurement.value, measurement.unit)
        if problem is None:
            continue
        where = f"{places[index]}.value" if index < len(places) else "Observation"
        issues.append(OutcomeIssue("error", "value", problem, where))
    return issues


def repeated_values(data: ObservationData, raw: dict[str, Any]) -> list[OutcomeIssue]:
    """One ``error`` issue (code ``structure``) per value that repeats an earlier value of
    the same Observation (a coding in common, such as two systolic components): one of
    them would be read as "the newest" and the other never judged."""
    places = data.locations if len(data.locations) == len(data.measurements) else []
    if not places:
        places = _quantity_places(raw)
    issues: list[OutcomeIssue] = []
    seen: dict[str, int] = {}
    for index, measurement in enumerate(data.measurements):
        earlier = next((seen[c] for c in measurement.codes if c in seen), None)
        if earlier is not None:
            where = places[index] if index < len(places) else "Observation"
            first = places[earlier] if earlier < len(places) else "Observation"
            text = (
                f"{measurement.code} is given twice in one Observation (also at {first}): "
                "send each value once, or as Observations of their own"
            )
            issues.append(
                OutcomeIssue("error", "structure", text, where.removesuffix(".valueQuantity"))
            )
        for code in measurement.codes:
            seen.setdefault(code, index)
    return issues


def _quantity_places(raw: dict[str, Any]) -> list[str]:
    """Where each valueQuantity is, in observation_measurements' order."""
    out: list[str] = []
    holders = [(raw, "Observation")]
    components = raw.get("component") if isinstance(raw, dict) else None
    if isinstance(components, list):
        holders += [(c, f"Observation.component[{i}]") for i, c in enumerate(components)]
    for holder, where in holders:
        if isinstance(holder, dict) and isinstance(holder.get("valueQuantity"), dict):
            out.append(f"{where}.valueQuantity")
    return out


def _others(codes: list[str]) -> tuple[str, ...]:
    """The codings after the first, each once (a device may repeat one)."""
    return tuple(code for code in dict.fromkeys(codes[1:]) if code != codes[0])


def _codes(concept: CodeableConcept | None, where: str) -> list[str]:
    codes = [
        f"{coding.system or ''}|{coding.code}"
        for coding in (concept.coding or [] if concept is not None else [])
        if coding.code
    ]
    if not codes:
        raise FhirInputError.single("required", "a coding with a code is required", where)
    return codes


def _quantity(holder: Observation | ObservationComponent, where: str) -> Quantity | None:
    for name in _OTHER_VALUES:
        if getattr(holder, name, None) is not None:
            raise FhirInputError.single(
                "not-supported", "only a Quantity value is read from a device", f"{where}.{name}"
            )
    quantity: Quantity | None = holder.valueQuantity
    return quantity


def _number_and_unit(quantity: Quantity, where: str) -> tuple[float, str]:
    if quantity.value is None:
        raise FhirInputError.single("required", "the quantity has no value", f"{where}.value")
    if quantity.comparator:
        raise FhirInputError.single(
            "not-supported",
            f"a value with comparator {quantity.comparator!r} is not an exact reading",
            f"{where}.comparator",
        )
    if quantity.system == UCUM and quantity.code:
        unit_text, unit_where = str(quantity.code), f"{where}.code"
    elif quantity.unit:
        unit_text, unit_where = str(quantity.unit), f"{where}.unit"
    else:
        raise FhirInputError.single("required", "the quantity has no unit", where)
    try:
        unit = normalize_unit(unit_text)
    except UnitError as exc:
        raise FhirInputError.single("value", f"unknown unit: {exc}", unit_where) from None
    return float(quantity.value), unit


def _absent(reason: CodeableConcept | None, where: str) -> OutcomeIssue:
    if reason is None:
        return _warning("incomplete", "no value: not a reading", where)
    codes = [c.code for c in reason.coding or [] if c.code]
    why = ", ".join(str(c) for c in codes) or reason.text or "no reason given"
    return _warning("incomplete", f"no value, data absent ({why}): not a reading", where)


def _warning(code: str, text: str, where: str) -> OutcomeIssue:
    return OutcomeIssue("warning", code, text, where)


def _effective_time(obs: Observation) -> dt.datetime:
    candidates: list[tuple[Any, str]] = [
        (obs.effectiveDateTime, "Observation.effectiveDateTime"),
        (obs.effectiveInstant, "Observation.effectiveInstant"),
    ]
    if obs.effectivePeriod is not None:
        candidates.append((obs.effectivePeriod.end, "Observation.effectivePeriod.end"))
        candidates.append((obs.effectivePeriod.start, "Observation.effectivePeriod.start"))
    for value, where in candidates:
        if value is not None:
            return _aware(value, where)
    if obs.effectiveTiming is not None:
        raise FhirInputError.single(
            "not-supported", "give the time as effectiveDateTime", "Observation.effectiveTiming"
        )
    raise FhirInputError.single(
        "required", "the time of the reading is missing", "Observation.effective[x]"
    )


def _aware(value: Any, where: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise FhirInputError.single("value", "a time needs a UTC offset", where)
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(0), tzinfo=LOCAL_TZ)
    raise FhirInputError.single("value", "the time must be at least a full date", where)
