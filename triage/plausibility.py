"""Readings no body can show, refused before they are stored (API.md, "Refused as impossible").

A home device that sends a pulse of 0, a weight of 1800 kg or a saturation of 150 % is
broken or misused; a triage on such a number would be wrong both ways (a false red, or a
real problem hidden behind an absurd value), so the sender is told to check the device.

:data:`LIMITS` holds the limits per kind of quantity, each with the codes (``"system|code"``,
LOINC and the SNOMED CT equivalents) of that kind and the unit the limits are in. A value
is converted to that unit with :func:`triage.units.convert` before it is compared, so
1800 [lb_av] is refused as 816.5 kg. Whatever the code, a value whose magnitude exceeds
:data:`MAX_MAGNITUDE` is refused too: no body measurement is that large, and such numbers
break arithmetic and storage further on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from triage.units import GLUCOSE_CODES, UnitError, convert

__all__ = ["LIMITS", "MAX_MAGNITUDE", "Limits", "implausible", "limits_for"]

MAX_MAGNITUDE = 1e9

_LOINC = "http://loinc.org|"
_SNOMED = "http://snomed.info/sct|"


@dataclass(frozen=True, slots=True)
class Limits:
    """What a body can show of one kind of quantity, in ``unit`` (a UCUM code).

    ``low_allowed`` tells whether ``low`` itself is possible: a saturation of 0 % is a
    (dead) reading, a weight or pulse of 0 is no reading at all.
    """

    kind: str
    unit: str
    low: float
    high: float
    low_allowed: bool
    codes: frozenset[str]
    analyte: str | None = None

    def allows(self, value: float) -> bool:
        """Whether ``value`` (in :attr:`unit`) is within the limits."""
        above_low = value >= self.low if self.low_allowed else value > self.low
        return above_low and value <= self.high


def _codes(loinc: Sequence[str], snomed: Sequence[str] = ()) -> frozenset[str]:
    return frozenset([_LOINC + c for c in loinc] + [_SNOMED + c for c in snomed])


LIMITS: dict[str, Limits] = {
    limits.kind: limits
    for limits in (
        Limits(
            "oxygen saturation", "%", 0, 100, True, _codes(["59408-5", "2708-6"], ["431314004"])
        ),
        Limits("body weight", "kg", 0, 700, False, _codes(["29463-7", "3141-9"], ["27113001"])),
        Limits("pulse", "/min", 0, 400, False, _codes(["8867-4"], ["364075005"])),
        Limits(
            "systolic blood pressure", "mm[Hg]", 0, 400, False, _codes(["8480-6"], ["271649006"])
        ),
        Limits(
            "diastolic blood pressure", "mm[Hg]", 0, 400, False, _codes(["8462-4"], ["271650006"])
        ),
        # Every code triage.units converts as glucose, so the two lists cannot drift apart.
        Limits("glucose", "mmol/L", 0, 100, False, GLUCOSE_CODES, analyte="glucose"),
        Limits(
            "body temperature", "Cel", 15, 46, True, _codes(["8310-5", "8331-1"], ["386725007"])
        ),
    )
}

_BY_CODE: dict[str, Limits] = {code: limits for limits in LIMITS.values() for code in limits.codes}

# UCUM codes as a person writes them, for the messages.
_SHOWN_UNITS = {
    "Cel": "°C",
    "[degF]": "°F",
    "mm[Hg]": "mmHg",
    "[lb_av]": "lb",
    "[oz_av]": "oz",
}


def limits_for(codes: Sequence[str]) -> Limits | None:
    """The limits of the first of ``codes`` (``"system|code"``) that has any, else None."""
    for code in codes:
        found = _BY_CODE.get(code.strip())
        if found is not None:
            return found
    return None


def implausible(codes: Sequence[str], value: float, unit: str) -> str | None:
    """Why ``value`` in ``unit``, coded ``codes``, cannot be a body's reading; None if it can.

    A unit that does not convert to the kind's unit gives None: refusing units is the unit
    check's business, and its message says more than this one could.
    """
    shown = f"{_given(value)} {_unit(unit)}".strip()
    if not math.isfinite(value):
        return f"the value {shown} is not a finite number: check the device"
    if abs(value) > MAX_MAGNITUDE:
        return (
            f"the value {shown} is larger than any body measurement can be "
            f"(more than {MAX_MAGNITUDE:,.0f} either way): check the device"
        )
    limits = limits_for(codes)
    if limits is None:
        return None
    try:
        converted = convert(value, unit, limits.unit, analyte=limits.analyte)
    except UnitError:
        return None
    if limits.allows(converted):
        return None
    if _unit(unit) != _unit(limits.unit):
        shown = f"{shown} ({_rounded(converted)} {_unit(limits.unit)})"
    low, high, target = _given(limits.low), _given(limits.high), _unit(limits.unit)
    if limits.low_allowed:
        bounds = f"{low}–{high} {target}"
    else:
        bounds = f"what a body can show (above {low}, at most {high} {target})"
    return f"{limits.kind} {shown} is outside {bounds}: check the device"


def _unit(unit: str) -> str:
    return _SHOWN_UNITS.get(unit.strip(), unit.strip())


def _given(value: float) -> str:
    # As many digits as the sender gave, so 100.04 % is not shown as the allowed 100 %.
    return format(value, ".15g")


def _rounded(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text
