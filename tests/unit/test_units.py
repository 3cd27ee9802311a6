"""UCUM unit normalisation and conversion of device readings."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage.units import (
    GLUCOSE_CODES,
    KNOWN_UNITS,
    UnitError,
    analyte_for,
    can_convert,
    convert,
    is_known_unit,
    normalize_unit,
)

LOINC = "http://loinc.org|"


@pytest.mark.parametrize(
    ("value", "from_unit", "to_unit", "expected", "tolerance"),
    [
        (82, "kg", "[lb_av]", 180.78, 0.005),
        (180.78, "[lb_av]", "kg", 82.0, 0.005),
        (1000, "g", "kg", 1.0, 0),
        (1, "kg", "g", 1000.0, 0),
        (16, "[oz_av]", "[lb_av]", 1.0, 1e-12),
        (1, "[oz_av]", "g", 28.349523125, 1e-12),
        (37, "Cel", "[degF]", 98.6, 1e-12),
        (98.6, "[degF]", "Cel", 37.0, 1e-12),
        (-40, "Cel", "[degF]", -40.0, 1e-12),
        (0, "Cel", "K", 273.15, 1e-12),
        (310.15, "K", "Cel", 37.0, 1e-12),
        (310.15, "K", "[degF]", 98.6, 1e-12),
        (120, "mm[Hg]", "kPa", 16.0, 0.005),
        (16, "kPa", "mm[Hg]", 120.0, 0.01),
        (760, "mm[Hg]", "kPa", 101.325, 0.0005),
        (1, "/s", "/min", 60.0, 0),
        (72, "/min", "/s", 1.2, 1e-12),
        (1, "[in_i]", "cm", 2.54, 1e-12),
        (6, "[ft_i]", "cm", 182.88, 1e-12),
        (182.88, "cm", "[ft_i]", 6.0, 1e-12),
        (1750, "mm", "m", 1.75, 1e-12),
        (1, "L", "mL", 1000.0, 0),
        (250, "mL", "L", 0.25, 0),
        (0.5, "L/s", "L/min", 30.0, 0),
        (30, "L/min", "L/s", 0.5, 0),
        (7, "1", "{score}", 7.0, 0),
    ],
)
def test_converts_known_values(
    value: float, from_unit: str, to_unit: str, expected: float, tolerance: float
) -> None:
    assert convert(value, from_unit, to_unit) == pytest.approx(expected, abs=tolerance)


@pytest.mark.parametrize(
    ("value", "from_unit", "to_unit", "expected", "tolerance"),
    [
        (52, "mg/dL", "mmol/L", 2.886, 0.0005),
        (2.886, "mmol/L", "mg/dL", 52.0, 0.01),
        (5.5, "mmol/L", "mg/dL", 99.09, 0.005),
        (180.156, "mg/dL", "mmol/L", 10.0, 1e-12),
    ],
)
def test_converts_glucose_between_mmol_and_mg(
    value: float, from_unit: str, to_unit: str, expected: float, tolerance: float
) -> None:
    result = convert(value, from_unit, to_unit, analyte="glucose")
    assert result == pytest.approx(expected, abs=tolerance)


def test_fahrenheit_to_celsius_has_no_float_noise() -> None:
    assert convert(98.6, "[degF]", "Cel") == 37.0


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_same_unit_returns_the_value_unchanged(value: float) -> None:
    assert convert(value, "mmol/L", "mmol/L") == value


def test_alias_of_the_same_unit_returns_the_value_unchanged() -> None:
    assert convert(0.1 + 0.2, "mmHg", "mm[Hg]") == 0.1 + 0.2


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("mmHg", "mm[Hg]"),
        ("mm Hg", "mm[Hg]"),
        ("lb", "[lb_av]"),
        ("lbs", "[lb_av]"),
        ("bpm", "/min"),
        ("beats/min", "/min"),
        ("{beats}/min", "/min"),
        ("{breaths}/min", "/min"),
        ("1/min", "/min"),
        ("°C", "Cel"),
        ("C", "Cel"),
        ("degC", "Cel"),
        ("°F", "[degF]"),
        ("degF", "[degF]"),
        ("mg/dl", "mg/dL"),
        ("mmol/l", "mmol/L"),
        ("percent", "%"),
        ("ml", "mL"),
        ("kg/m²", "kg/m2"),
        (" kg ", "kg"),
    ],
)
def test_normalizes_device_aliases(alias: str, canonical: str) -> None:
    assert normalize_unit(alias) == canonical


@pytest.mark.parametrize(
    "code",
    [
        "kg", "g", "[lb_av]", "[oz_av]", "Cel", "[degF]", "K", "mm[Hg]", "kPa", "/min",
        "%", "cm", "m", "mm", "[in_i]", "[ft_i]", "L", "mL", "L/min", "L/s", "mmol/L",
        "mg/dL", "kg/m2", "1", "{score}",
    ],
)  # fmt: skip
def test_canonical_codes_are_known_and_normalize_to_themselves(code: str) -> None:
    assert code in KNOWN_UNITS
    assert normalize_unit(code) == code


def test_converts_between_aliases() -> None:
    assert convert(180.78, "lbs", "kg") == pytest.approx(82.0, abs=0.005)


def test_unknown_unit_is_refused_with_the_known_units() -> None:
    with pytest.raises(UnitError, match=r"unknown unit 'xyz'; known units are .*mm\[Hg\]"):
        normalize_unit("xyz")


def test_empty_unit_is_refused() -> None:
    with pytest.raises(UnitError, match="no unit given"):
        normalize_unit("")


def test_case_matters_where_ucum_says_it_does() -> None:
    # ML would be megalitres in UCUM; guessing mL could be off by a factor of a billion
    assert not is_known_unit("ML")
    assert is_known_unit("mL")


def test_unknown_unit_cannot_be_converted() -> None:
    assert not can_convert("xyz", "kg")
    with pytest.raises(UnitError, match="unknown unit 'xyz'"):
        convert(1, "xyz", "kg")


def test_cross_dimension_conversion_is_refused_naming_both_units() -> None:
    assert not can_convert("kg", "mm[Hg]")
    with pytest.raises(UnitError, match=r"cannot convert kg to mm\[Hg\]: kg is a mass"):
        convert(82, "kg", "mm[Hg]")


def test_percent_and_a_plain_number_are_not_interchangeable() -> None:
    # SpO2 sent as 0.97 in unit "1" must not silently become 97 %, nor a score 1 become 100 %
    assert not can_convert("1", "%")
    with pytest.raises(UnitError):
        convert(0.97, "1", "%")


@pytest.mark.parametrize(("from_unit", "to_unit"), [("mmol/L", "mg/dL"), ("mg/dL", "mmol/L")])
def test_glucose_conversion_needs_the_analyte(from_unit: str, to_unit: str) -> None:
    assert not can_convert(from_unit, to_unit)
    assert can_convert(from_unit, to_unit, analyte="glucose")
    with pytest.raises(UnitError, match="depends on the substance measured"):
        convert(5.5, from_unit, to_unit)


def test_mmol_to_mg_for_an_unknown_analyte_is_refused() -> None:
    assert not can_convert("mmol/L", "mg/dL", analyte="cholesterol")
    with pytest.raises(UnitError, match=r"'cholesterol'.*known only for glucose"):
        convert(5.5, "mmol/L", "mg/dL", analyte="cholesterol")


def test_analyte_does_not_bridge_unrelated_units() -> None:
    with pytest.raises(UnitError, match="cannot convert mmol/L to kg"):
        convert(5.5, "mmol/L", "kg", analyte="glucose")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize(("from_unit", "to_unit"), [("kg", "[lb_av]"), ("kg", "kg")])
def test_non_finite_values_are_refused(value: float, from_unit: str, to_unit: str) -> None:
    with pytest.raises(UnitError, match="not a finite number"):
        convert(value, from_unit, to_unit)


@pytest.mark.parametrize("value", ["82", None, True])
def test_non_numbers_are_refused(value: object) -> None:
    with pytest.raises(UnitError, match="not a number"):
        convert(value, "kg", "[lb_av]")  # type: ignore[arg-type]


def test_result_too_large_for_a_float_is_refused() -> None:
    with pytest.raises(UnitError, match="too large"):
        convert(1e308, "L/s", "L/min")


@pytest.mark.parametrize(
    "code",
    ["15074-8", "2339-0", "2345-7", "14743-9", "41653-7", "99504-3", "105272-9"],
)
def test_glucose_loinc_codes_give_glucose(code: str) -> None:
    assert LOINC + code in GLUCOSE_CODES
    assert analyte_for(LOINC + code) == "glucose"


@pytest.mark.parametrize(
    "code", [LOINC + "29463-7", LOINC + "8480-6", "2339-0", "http://snomed.info/sct|2339-0", None]
)
def test_other_codes_have_no_analyte(code: str | None) -> None:
    assert analyte_for(code) is None


_CONVERTIBLE = [
    (a, b) for a in sorted(KNOWN_UNITS) for b in sorted(KNOWN_UNITS) if a != b and can_convert(a, b)
]


def test_round_trip_pairs_include_the_main_dimensions() -> None:
    # guards the property test below against passing on an empty or trivial pair list
    assert {("kg", "[lb_av]"), ("Cel", "[degF]"), ("mm[Hg]", "kPa"), ("L/s", "L/min")} <= set(
        _CONVERTIBLE
    )


@given(
    pair=st.sampled_from(_CONVERTIBLE),
    value=st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
)
def test_round_trip_returns_the_original(pair: tuple[str, str], value: float) -> None:
    there = convert(value, pair[0], pair[1])
    assert convert(there, pair[1], pair[0]) == pytest.approx(value, rel=1e-12, abs=1e-9)


@given(
    units=st.sampled_from([("mmol/L", "mg/dL"), ("mg/dL", "mmol/L")]),
    value=st.floats(min_value=0, max_value=1e6),
)
def test_glucose_round_trip_returns_the_original(units: tuple[str, str], value: float) -> None:
    there = convert(value, *units, analyte="glucose")
    back = convert(there, units[1], units[0], analyte="glucose")
    assert back == pytest.approx(value, rel=1e-12, abs=1e-9)
