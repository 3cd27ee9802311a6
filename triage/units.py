"""UCUM units of home-device readings, and conversion between them.

A pathway declares the unit it wants each reading in; a device sends whatever it sends.
:func:`convert` bridges the two, or raises :class:`UnitError` with a reason a person can
act on. It never guesses: a conversion that needs more than the two units (mmol/L to
mg/dL needs the substance) is refused unless that extra fact is given.
"""

from __future__ import annotations

import functools
import math
import re
from fractions import Fraction
from typing import NamedTuple

__all__ = [
    "GLUCOSE_CODES",
    "KNOWN_UNITS",
    "UnitError",
    "analyte_for",
    "can_convert",
    "convert",
    "is_known_unit",
    "normalize_unit",
]


class UnitError(ValueError):
    """A unit is unknown, or a value cannot be converted between two units."""


class _Unit(NamedTuple):
    # value in the dimension's base unit = value * factor + offset
    dimension: str  # in plain words, for messages: "a mass"
    factor: Fraction
    offset: Fraction = Fraction(0)


_MASS = "a mass"
_TEMPERATURE = "a temperature"
_PRESSURE = "a pressure"
_RATE = "a rate per time"
_PERCENT = "a percentage"
_LENGTH = "a length"
_VOLUME = "a volume"
_FLOW = "a flow"
_SUBSTANCE_CONC = "an amount-of-substance concentration"
_MASS_CONC = "a mass concentration"
_BMI = "a body mass index"
_SCORE = "a score or count"

# Factors are exact decimal strings so that conversions are exact up to the final rounding.
_UNITS: dict[str, _Unit] = {
    "kg": _Unit(_MASS, Fraction(1)),
    "g": _Unit(_MASS, Fraction("0.001")),
    "[lb_av]": _Unit(_MASS, Fraction("0.45359237")),  # exact by the 1959 international pound
    "[oz_av]": _Unit(_MASS, Fraction("0.45359237") / 16),
    "Cel": _Unit(_TEMPERATURE, Fraction(1)),
    "K": _Unit(_TEMPERATURE, Fraction(1), Fraction("-273.15")),
    "[degF]": _Unit(_TEMPERATURE, Fraction(5, 9), Fraction(-160, 9)),  # (F - 32) * 5/9
    "kPa": _Unit(_PRESSURE, Fraction(1)),
    # Conventional mmHg, 13.5951 g/cm3 * 9.80665 m/s2 * 1 mm (NIST SP 811); UCUM's own
    # definition rounds it to 133.322 Pa, a difference far below any device's resolution.
    "mm[Hg]": _Unit(_PRESSURE, Fraction("0.133322387415")),
    "/min": _Unit(_RATE, Fraction(1)),
    "/s": _Unit(_RATE, Fraction(60)),
    # Kept apart from the scores: a fraction sent as "1" (0.97) would otherwise become 97 %
    # and a score of 1 would become 100 %; neither is what the sender meant.
    "%": _Unit(_PERCENT, Fraction(1)),
    "m": _Unit(_LENGTH, Fraction(1)),
    "cm": _Unit(_LENGTH, Fraction("0.01")),
    "mm": _Unit(_LENGTH, Fraction("0.001")),
    "[in_i]": _Unit(_LENGTH, Fraction("0.0254")),
    "[ft_i]": _Unit(_LENGTH, Fraction("0.3048")),
    "L": _Unit(_VOLUME, Fraction(1)),
    "mL": _Unit(_VOLUME, Fraction("0.001")),
    "L/min": _Unit(_FLOW, Fraction(1)),
    "L/s": _Unit(_FLOW, Fraction(60)),
    "mmol/L": _Unit(_SUBSTANCE_CONC, Fraction(1)),
    "mg/dL": _Unit(_MASS_CONC, Fraction(1)),
    "kg/m2": _Unit(_BMI, Fraction(1)),
    "1": _Unit(_SCORE, Fraction(1)),
    "{score}": _Unit(_SCORE, Fraction(1)),
}

KNOWN_UNITS: frozenset[str] = frozenset(_UNITS)

# Display text devices send instead of UCUM codes. Listed one by one rather than matched
# case-insensitively, because in UCUM case carries meaning (mL is not ML).
_ALIASES: dict[str, str] = {
    "mmHg": "mm[Hg]",
    "mm Hg": "mm[Hg]",
    "lb": "[lb_av]",
    "lbs": "[lb_av]",
    "oz": "[oz_av]",
    "in": "[in_i]",
    "ft": "[ft_i]",
    "bpm": "/min",
    "beats/min": "/min",
    "1/min": "/min",
    "1/s": "/s",
    "°C": "Cel",
    "℃": "Cel",
    "C": "Cel",  # UCUM's coulomb, but no home device reports an electric charge
    "degC": "Cel",
    "°F": "[degF]",
    "℉": "[degF]",
    "degF": "[degF]",
    "l": "L",
    "ml": "mL",
    "l/min": "L/min",
    "l/s": "L/s",
    "mg/dl": "mg/dL",
    "mmol/l": "mmol/L",
    "kg/m^2": "kg/m2",
    "kg/m²": "kg/m2",
    "percent": "%",
}

# A UCUM annotation such as {beats} means 1, so "{beats}/min" and "{breaths}/min" are /min.
_ANNOTATION_PER = re.compile(r"\{[^{}]*\}(/.+)")

# Glucose: C6H12O6, 180.156 g/mol from the IUPAC conventional atomic weights
# (6 * 12.011 + 12 * 1.008 + 6 * 15.999). 1 mmol/L = 180.156 mg/L = 18.0156 mg/dL.
_MOLAR_MASS_G_PER_MOL: dict[str, Fraction] = {"glucose": Fraction("180.156")}

GLUCOSE_CODES: frozenset[str] = frozenset(
    "http://loinc.org|" + code
    for code in (
        "15074-8",  # Glucose [Moles/volume] in Blood
        "2339-0",  # Glucose [Mass/volume] in Blood
        "2345-7",  # Glucose [Mass/volume] in Serum or Plasma
        "14749-6",  # Glucose [Moles/volume] in Serum or Plasma
        "14743-9",  # Glucose [Moles/volume] in Capillary blood by Glucometer
        "41653-7",  # Glucose [Mass/volume] in Capillary blood by Glucometer
        "32016-8",  # Glucose [Mass/volume] in Capillary blood
        "41604-0",  # Fasting glucose [Mass/volume] in Capillary blood by Glucometer
        "1547-9",  # Glucose [Mass/volume] in Serum or Plasma --baseline
        "99504-3",  # Glucose [Mass/volume] in Interstitial fluid (CGM)
        "105272-9",  # Glucose [Moles/volume] in Interstitial fluid (CGM)
    )
)


def normalize_unit(unit: str) -> str:
    """Return the canonical UCUM code for ``unit``.

    Accepts the UCUM code itself and the display text devices commonly send instead
    (``mmHg``, ``lbs``, ``bpm``, ``°C``, ``mg/dl``, ``percent`` ...). Surrounding spaces
    are ignored.

    Raises:
        UnitError: the unit is empty or not one this engine knows; the message lists
            the known units.
    """
    if not isinstance(unit, str) or not unit.strip():
        raise UnitError(f"no unit given ({unit!r}); known units are {_known_list()}")
    text = unit.strip()
    if text in _UNITS:
        return text
    if text in _ALIASES:
        return _ALIASES[text]
    annotated = _ANNOTATION_PER.fullmatch(text)
    if annotated and annotated.group(1) in _UNITS:
        return annotated.group(1)
    raise UnitError(f"unknown unit {unit!r}; known units are {_known_list()}")


def is_known_unit(unit: str) -> bool:
    """Tell whether :func:`normalize_unit` accepts ``unit``."""
    try:
        normalize_unit(unit)
    except UnitError:
        return False
    return True


def can_convert(from_unit: str, to_unit: str, *, analyte: str | None = None) -> bool:
    """Tell whether :func:`convert` can convert values from ``from_unit`` to ``to_unit``.

    False for an unknown unit. ``analyte`` (e.g. ``"glucose"``, see :func:`analyte_for`)
    is needed only between substance and mass concentrations (mmol/L and mg/dL).
    """
    try:
        _factor_between(from_unit, to_unit, analyte)
    except UnitError:
        return False
    return True


def convert(value: float, from_unit: str, to_unit: str, *, analyte: str | None = None) -> float:
    """Return ``value`` given in ``from_unit`` expressed in ``to_unit``.

    Units may be UCUM codes or the aliases :func:`normalize_unit` accepts. Between the
    same unit the value is returned unchanged. mmol/L <-> mg/dL needs ``analyte``
    (only ``"glucose"`` is known), because the factor is the substance's molar mass.

    Raises:
        UnitError: the value is not a finite number, a unit is unknown, the units
            measure different things, the conversion needs an analyte that was not
            given or is not known, or the result is too large for a float.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UnitError(f"{value!r} is not a number, so it cannot be converted")
    try:
        number = float(value)
    except OverflowError:  # an int beyond float range, e.g. from a JSON integer literal
        raise UnitError(f"a value in {from_unit} is too large to convert") from None
    if not math.isfinite(number):
        raise UnitError(f"{value} {from_unit} cannot be converted: it is not a finite number")
    source, target = normalize_unit(from_unit), normalize_unit(to_unit)
    if source == target:
        return number
    return _converted(number, from_unit, to_unit, analyte)


@functools.lru_cache(maxsize=8192)
def _converted(number: float, from_unit: str, to_unit: str, analyte: str | None) -> float:
    """The exact conversion, remembered: a day of CGM readings repeats a few hundred values,
    and the exact arithmetic below costs some 9 µs a value."""
    source, target = normalize_unit(from_unit), normalize_unit(to_unit)
    bridge = _factor_between(from_unit, to_unit, analyte)
    # Reading the float as the decimal it prints as keeps 98.6 [degF] -> exactly 37 Cel.
    exact = Fraction(repr(number))
    src, dst = _UNITS[source], _UNITS[target]
    result = ((exact * src.factor + src.offset) * bridge - dst.offset) / dst.factor
    try:
        return float(result)
    except OverflowError:
        raise UnitError(f"{number} {from_unit} is too large to express in {to_unit}") from None


def analyte_for(code: str | None) -> str | None:
    """Return the analyte an observation code measures, if a conversion depends on it.

    ``code`` is ``"system|code"``: ``analyte_for("http://loinc.org|2339-0")`` is
    ``"glucose"``. Any other code, or ``None``, gives ``None``.
    """
    if code is not None and code.strip() in GLUCOSE_CODES:
        return "glucose"
    return None


def _factor_between(from_unit: str, to_unit: str, analyte: str | None) -> Fraction:
    """Multiplier from ``from_unit``'s base unit to ``to_unit``'s, or UnitError saying why."""
    source, target = _UNITS[normalize_unit(from_unit)], _UNITS[normalize_unit(to_unit)]
    if source.dimension == target.dimension:
        return Fraction(1)
    if {source.dimension, target.dimension} != {_SUBSTANCE_CONC, _MASS_CONC}:
        raise UnitError(
            f"cannot convert {from_unit} to {to_unit}: {from_unit} is {source.dimension} "
            f"and {to_unit} is {target.dimension}"
        )
    if analyte is None:
        raise UnitError(
            f"cannot convert {from_unit} to {to_unit}: the factor depends on the substance "
            f"measured, and none was given (it is known for {_analyte_list()})"
        )
    if analyte not in _MOLAR_MASS_G_PER_MOL:
        raise UnitError(
            f"cannot convert {from_unit} to {to_unit} for {analyte!r}: the factor depends "
            f"on the substance measured and is known only for {_analyte_list()}"
        )
    # mmol/L * g/mol = mg/L, and 10 dL = 1 L
    mg_per_dl_per_mmol_per_l = _MOLAR_MASS_G_PER_MOL[analyte] / 10
    if source.dimension == _SUBSTANCE_CONC:
        return mg_per_dl_per_mmol_per_l
    return 1 / mg_per_dl_per_mmol_per_l


def _known_list() -> str:
    return ", ".join(sorted(_UNITS))


def _analyte_list() -> str:
    return ", ".join(sorted(_MOLAR_MASS_G_PER_MOL))
