"""Norwegian national identity numbers: fødselsnummer and D-nummer.

An 11-digit number ``DDMMYY III K1 K2``: date of birth, an individual number whose range
gives the century, and two mod-11 control digits (weights ``3 7 6 1 8 9 4 5 2`` and
``5 4 3 2 7 6 5 4 3 2``; a remainder that gives control digit 10 means the number cannot
exist). Variants accepted:

- D-nummer (for people without a fødselsnummer): the first digit is raised by 4, so the
  day reads 41-71. It belongs under its own identifier system, :data:`DNR_SYSTEM`.
- Synthetic test numbers ("syntetiske fødselsnumre", Skatteetaten's test population in
  Tenor): the month is raised by 80 (a synthetic D-nummer has both). They are accepted
  because every number in tests, seeds and demos must be synthetic, never a real person's.

:func:`national_id_problem` gives the reason a value is refused, or None when it is valid.
"""

from __future__ import annotations

import datetime as dt

__all__ = [
    "DNR_SYSTEM",
    "FNR_SYSTEM",
    "control_digits",
    "is_d_number",
    "national_id_problem",
]

FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"
DNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.2"

_W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_SYNTHETIC_MONTH = 80
_D_DAY = 40


def _control(digits: list[int], weights: tuple[int, ...]) -> int | None:
    rest = 11 - sum(d * w for d, w in zip(digits, weights, strict=False)) % 11
    if rest == 11:
        return 0
    return None if rest == 10 else rest


def control_digits(first_nine: str) -> tuple[int, int] | None:
    """The two control digits for the first nine digits, or None when none can exist."""
    digits = [int(c) for c in first_nine]
    k1 = _control(digits, _W1)
    if k1 is None:
        return None
    k2 = _control([*digits, k1], _W2)
    return None if k2 is None else (k1, k2)


def is_d_number(value: str) -> bool:
    """True when ``value`` is written as a D-nummer (the day raised by 40)."""
    return len(value) == 11 and value.isdigit() and int(value[:2]) > _D_DAY


def _year(yy: int, individual: int) -> int | None:
    if individual <= 499:
        return 1900 + yy
    if individual <= 749 and yy >= 54:
        return 1800 + yy
    if yy <= 39:
        return 2000 + yy
    if individual >= 900:
        return 1900 + yy
    return None


def national_id_problem(value: str, system: str = FNR_SYSTEM) -> str | None:
    """Why ``value`` is not a valid number for ``system`` (FNR or DNR), or None if it is."""
    if len(value) != 11 or not value.isascii() or not value.isdigit():
        return "a Norwegian national id has exactly 11 digits"
    day, month, yy = int(value[:2]), int(value[2:4]), int(value[4:6])
    d_number = day > _D_DAY
    if system == FNR_SYSTEM and d_number:
        return f"this is a D-number: use the identifier system {DNR_SYSTEM}"
    if system == DNR_SYSTEM and not d_number:
        return f"this is not a D-number (the first digit is not raised by 4): use {FNR_SYSTEM}"
    if d_number:
        day -= _D_DAY
    if month > _SYNTHETIC_MONTH:
        month -= _SYNTHETIC_MONTH
    year = _year(yy, int(value[6:9]))
    try:
        dt.date(year if year is not None else 2000, month, day)
    except ValueError:
        return "the first six digits are not a date of birth (DDMMYY)"
    expected = control_digits(value[:9])
    if expected is None or (int(value[9]), int(value[10])) != expected:
        return "the control digits do not match (a typing error?)"
    return None
