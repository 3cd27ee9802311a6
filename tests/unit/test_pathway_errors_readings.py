"""A pathway's readings (units, windows, observation names) are refused with the line and
column to fix.

Each test breaks a small valid pathway (broken_pathways.py) in one place and checks the
problem's code, its exact line, and that the English message names the offending thing
and says what would be right.
"""

from __future__ import annotations

import pytest
from broken_pathways import OBSERVATION, broken, col_of, line_of, only_problem


def test_unknown_unit_in_applies_to_is_one_problem() -> None:
    text = broken(OBSERVATION, "unit: kg", "unit: stones")
    problem = only_problem(text)
    assert (problem.code, problem.line) == ("unknown-unit", line_of(text, "stones"))
    assert problem.col == col_of(text, "stones")
    message = problem.message("en")
    assert "unknown unit 'stones'" in message
    assert "kg" in message and "[lb_av]" in message


@pytest.mark.parametrize(
    ("old", "new", "right"),
    [
        ("mean: P7D", "mean: 7D", "P7D"),
        ("mean: P7D", "mean: P7d", "P7D"),
        ("over: P14D", "over: 14", "P14D"),
    ],
)
def test_window_that_is_not_an_iso_8601_duration(old: str, new: str, right: str) -> None:
    text = broken(OBSERVATION, old, new)
    problem = only_problem(text)
    assert (problem.code, problem.line) == ("bad-duration", line_of(text, new))
    assert problem.col == col_of(text, new) + new.index(" ") + 1
    message = problem.message("en")
    assert new.split()[-1] in message
    assert "not an ISO 8601 duration" in message
    assert f"did you mean {right}" in message


def test_unknown_observation_name_in_an_input() -> None:
    text = broken(OBSERVATION, "{observation: weight}", "{observation: wieght}")
    problem = only_problem(text)
    assert (problem.code, problem.line) == ("unknown-observation", line_of(text, "wieght"))
    message = problem.message("en")
    assert "'wieght' is not a reading" in message
    assert "did you mean 'weight'?" in message


def test_two_window_forms_in_one_input() -> None:
    text = broken(OBSERVATION, "mean: P7D}", "mean: P7D, max: P7D}")
    problem = only_problem(text)
    assert (problem.code, problem.line) == ("several-windows", line_of(text, "max: P7D"))
    message = problem.message("en")
    assert "'mean_weight'" in message and "(mean, max)" in message
    assert "choose exactly one" in message
