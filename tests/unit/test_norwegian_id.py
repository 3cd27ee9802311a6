"""Norwegian national ids: fødselsnummer, D-nummer and synthetic test numbers."""

from __future__ import annotations

import pytest

from fhir_adapters.norwegian_id import (
    DNR_SYSTEM,
    FNR_SYSTEM,
    control_digits,
    is_d_number,
    national_id_problem,
)


@pytest.mark.parametrize("value", ["13031353453", "15076500565"])
def test_valid_fodselsnummer_is_accepted(value: str) -> None:
    assert national_id_problem(value) is None


def test_control_digits_are_computed_with_both_mod11_weights() -> None:
    assert control_digits("130313534") == (5, 3)
    assert control_digits("150765005") == (6, 5)


@pytest.mark.parametrize("last_two", ["54", "63", "00"])
def test_a_wrong_control_digit_is_refused(last_two: str) -> None:
    problem = national_id_problem("130313534" + last_two)
    assert problem is not None and "control digits" in problem


def test_digits_for_which_no_control_digit_exists_are_refused() -> None:
    # Find nine digits whose first control digit would be 10: no valid number starts so.
    nine = next(f"0101{n:05d}" for n in range(100_000) if control_digits(f"0101{n:05d}") is None)
    assert all(national_id_problem(nine + f"{k:02d}") for k in range(100))


@pytest.mark.parametrize(
    "value", ["1303135345", "130313534533", "1303135345a", "", "１３０３１３５３４５３"]
)
def test_anything_but_eleven_ascii_digits_is_refused(value: str) -> None:
    assert national_id_problem(value) == "a Norwegian national id has exactly 11 digits"


def test_an_impossible_date_is_refused_even_with_good_control_digits() -> None:
    nine = "310213534"  # 31 February
    k1, k2 = control_digits(nine) or (None, None)
    assert k1 is not None
    problem = national_id_problem(f"{nine}{k1}{k2}")
    assert problem is not None and "date of birth" in problem


def test_d_number_is_accepted_under_its_own_system_only() -> None:
    d_number = "53031353447"  # 13.03.13 with the first digit raised by 4
    assert is_d_number(d_number)
    assert national_id_problem(d_number, DNR_SYSTEM) is None
    problem = national_id_problem(d_number, FNR_SYSTEM)
    assert problem is not None and DNR_SYSTEM in problem
    assert national_id_problem("13031353453", DNR_SYSTEM) is not None


def test_synthetic_test_numbers_with_month_plus_80_are_accepted() -> None:
    assert national_id_problem("13881353479") is None  # Skatteetaten's synthetic form
    assert national_id_problem("13881353478") is not None  # still control-checked
