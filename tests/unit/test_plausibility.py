"""triage.plausibility: readings no body can show (API.md, "Refused as impossible")."""

from __future__ import annotations

import math

import pytest

from triage.plausibility import LIMITS, MAX_MAGNITUDE, implausible, limits_for
from triage.units import GLUCOSE_CODES, KNOWN_UNITS

LOINC = "http://loinc.org|"
SNOMED = "http://snomed.info/sct|"

REFUSED = [
    (LOINC + "59408-5", 150, "%", "oxygen saturation 150 % is outside 0–100 %"),
    (LOINC + "2708-6", -0.5, "%", "oxygen saturation -0.5 %"),
    (SNOMED + "431314004", 100.04, "%", "100.04 %"),
    (LOINC + "29463-7", -80, "kg", "body weight -80 kg"),
    (LOINC + "29463-7", 0, "kg", "above 0, at most 700 kg"),
    (LOINC + "3141-9", 800, "kg", "body weight 800 kg"),
    (SNOMED + "27113001", 1800, "[lb_av]", "1800 lb (816.5 kg)"),
    (LOINC + "8867-4", 0, "/min", "pulse 0 /min"),
    (SNOMED + "364075005", 401, "/min", "pulse 401 /min"),
    (LOINC + "8480-6", 0, "mm[Hg]", "systolic blood pressure 0 mmHg"),
    (SNOMED + "271650006", 401, "mm[Hg]", "diastolic blood pressure 401 mmHg"),
    (LOINC + "15074-8", 0, "mmol/L", "glucose 0 mmol/L"),
    (LOINC + "2339-0", 2000, "mg/dL", "glucose 2000 mg/dL (111 mmol/L)"),
    (LOINC + "8310-5", 14.9, "Cel", "body temperature 14.9 °C is outside 15–46 °C"),
    (LOINC + "8331-1", 115, "[degF]", "115 °F (46.1 °C)"),
    (SNOMED + "386725007", 47, "Cel", "47 °C"),
    (LOINC + "8867-4", 1e308, "/min", "larger than any body measurement"),
    ("http://example.org|anything", -2e9, "1", "larger than any body measurement"),
    (LOINC + "8867-4", math.inf, "/min", "inf /min is not a finite number"),
    (LOINC + "8867-4", math.nan, "/min", "not a finite number"),
]


@pytest.mark.parametrize(("code", "value", "unit", "words"), REFUSED)
def test_an_impossible_value_is_explained(code: str, value: float, unit: str, words: str) -> None:
    problem = implausible([code], value, unit)
    assert problem is not None and words in problem
    assert problem.endswith("check the device")


ACCEPTED = [
    (LOINC + "59408-5", 0, "%"),
    (LOINC + "59408-5", 100, "%"),
    (LOINC + "29463-7", 700, "kg"),
    (LOINC + "29463-7", 0.1, "kg"),
    (LOINC + "29463-7", 1543, "[lb_av]"),
    (LOINC + "8867-4", 400, "/min"),
    (LOINC + "8480-6", 400, "mm[Hg]"),
    (LOINC + "8462-4", 1, "mm[Hg]"),
    (LOINC + "14743-9", 100, "mmol/L"),
    (LOINC + "2339-0", 1801.56, "mg/dL"),  # exactly 100 mmol/L
    (LOINC + "8310-5", 15, "Cel"),
    (LOINC + "8310-5", 46, "Cel"),
    (LOINC + "8310-5", 114.8, "[degF]"),  # exactly 46 Cel
    (LOINC + "8310-5", 59, "[degF]"),  # exactly 15 Cel
    ("http://example.org|steps", MAX_MAGNITUDE, "1"),
    ("http://example.org|steps", -MAX_MAGNITUDE, "1"),
]


@pytest.mark.parametrize(("code", "value", "unit"), ACCEPTED)
def test_a_value_at_or_within_the_limits_is_accepted(code: str, value: float, unit: str) -> None:
    assert implausible([code], value, unit) is None


def test_a_unit_that_does_not_convert_is_left_to_the_unit_check() -> None:
    assert implausible([LOINC + "29463-7"], -5, "cm") is None
    assert implausible([LOINC + "29463-7"], -5, "furlong") is None
    assert implausible([LOINC + "8480-6"], 0, "kPa") is not None  # kPa converts to mm[Hg]


def test_any_coding_may_name_the_kind() -> None:
    assert implausible(["http://example.org|x", LOINC + "8867-4"], 500, "/min") is not None
    assert limits_for(["http://example.org|x"]) is None
    limits = limits_for([SNOMED + "431314004", LOINC + "8867-4"])
    assert limits is not None and limits.kind == "oxygen saturation"


def test_the_table_is_sound() -> None:
    seen: set[str] = set()
    for limits in LIMITS.values():
        assert limits.unit in KNOWN_UNITS
        assert limits.low < limits.high
        assert not (limits.codes & seen), "a code belongs to one kind"
        seen |= limits.codes
    assert LIMITS["glucose"].codes >= GLUCOSE_CODES
    named = {
        "59408-5", "2708-6", "29463-7", "3141-9", "8867-4", "8480-6", "8462-4", "15074-8",
        "2339-0", "2345-7", "14749-6", "99504-3", "105272-9", "41653-7", "14743-9", "8310-5",
        "8331-1",
    }  # fmt: skip
    assert {LOINC + c for c in named} <= seen
