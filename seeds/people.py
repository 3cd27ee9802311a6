"""Synthetic Norwegian patients: national ids that pass both control digits, and names.

The ids use the convention of Norway's synthetic test population: 80 is added to the
month (a birth in March gives month 83), so an id here can never belong to a real person,
while its control digits are computed exactly as for a real one. Names are common
Norwegian names, combined at random; they describe nobody.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"
SYNTHETIC_MONTH_OFFSET = 80
_W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)

FEMALE = [
    "Anne",
    "Inger",
    "Kari",
    "Marit",
    "Ingrid",
    "Liv",
    "Eva",
    "Berit",
    "Astrid",
    "Hilde",
    "Nina",
    "Ragnhild",
    "Solveig",
]
MALE = [
    "Jan",
    "Per",
    "Bjørn",
    "Ole",
    "Lars",
    "Kjell",
    "Knut",
    "Arne",
    "Svein",
    "Hans",
    "Geir",
    "Tor",
    "Odd",
    "Terje",
    "Håkon",
    "Øyvind",
]
FAMILY = [
    "Hansen",
    "Johansen",
    "Olsen",
    "Larsen",
    "Andersen",
    "Pedersen",
    "Nilsen",
    "Kristiansen",
    "Jensen",
    "Karlsen",
    "Johnsen",
    "Pettersen",
    "Eriksen",
    "Berg",
    "Haugen",
    "Hagen",
    "Johannessen",
    "Andreassen",
    "Jacobsen",
    "Dahl",
    "Halvorsen",
    "Henriksen",
    "Lund",
    "Sørensen",
    "Bakken",
    "Solberg",
    "Strand",
    "Moen",
]


def control_digits(nine: str) -> str | None:
    """The two mod-11 control digits for the first nine digits, or None if none exist."""
    digits = [int(c) for c in nine]
    k1 = (11 - sum(d * w for d, w in zip(digits, _W1, strict=True)) % 11) % 11
    if k1 == 10:
        return None
    k2 = (11 - sum(d * w for d, w in zip([*digits, k1], _W2, strict=True)) % 11) % 11
    if k2 == 10:
        return None
    return f"{k1}{k2}"


def is_valid_fnr(value: str) -> bool:
    """11 digits whose last two are the control digits of the first nine."""
    return len(value) == 11 and value.isdigit() and control_digits(value[:9]) == value[9:]


def synthetic_fnr(birth: dt.date, female: bool, rng: random.Random) -> str:
    """A synthetic national id (month + 80) for someone born 1940-1999 of that sex."""
    if not 1940 <= birth.year <= 1999:
        raise ValueError("demo patients are born 1940-1999 (individual numbers 000-499)")
    month = birth.month + SYNTHETIC_MONTH_OFFSET
    while True:
        # Individual number 000-499 means born 1900-1999; its last digit is even for women.
        individual = rng.randrange(0, 500)
        if (individual % 2 == 0) != female:
            continue
        nine = f"{birth.day:02d}{month:02d}{birth.year % 100:02d}{individual:03d}"
        control = control_digits(nine)
        if control is not None:
            return nine + control


def make_patient(key: str, rng: random.Random, used: set[str]) -> dict[str, Any]:
    """A FHIR Patient with a synthetic national id and a Norwegian name."""
    female = rng.random() < 0.5
    while True:
        given = rng.choice(FEMALE if female else MALE)
        family = rng.choice(FAMILY)
        if f"{given} {family}" not in used:
            used.add(f"{given} {family}")
            break
    birth = dt.date(rng.randrange(1940, 2000), rng.randrange(1, 13), rng.randrange(1, 29))
    return {
        "resourceType": "Patient",
        "identifier": [{"system": FNR_SYSTEM, "value": synthetic_fnr(birth, female, rng)}],
        "name": [{"family": family, "given": [given]}],
        "gender": "female" if female else "male",
        "birthDate": birth.isoformat(),
        "meta": {"tag": [{"system": "http://example.no/fhir/tag", "code": "synthetic-demo"}]},
    }
