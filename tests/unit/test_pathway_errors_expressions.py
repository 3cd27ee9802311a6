"""A broken expression in a pathway (``when``, a ``say`` placeholder) is refused with the
line and column to fix.

Each test breaks a small valid pathway (broken_pathways.py) in one place and checks the
problem's code, its exact line, and that the English message names the offending thing
and says what would be right.
"""

from __future__ import annotations

import pytest
from broken_pathways import QUESTIONNAIRE, broken, col_of, line_of, only_problem


def test_unknown_name_in_when_points_at_the_name_and_suggests_the_near_miss() -> None:
    text = broken(QUESTIONNAIRE, "seizures >= seizures_red", "seizures >= seizure_red")
    problem = only_problem(text)
    assert problem.code == "unknown-name"
    assert problem.file == "x.yaml"
    assert problem.line == line_of(text, "seizure_red\n")
    assert problem.col == col_of(text, "seizure_red\n")
    message = problem.message("en")
    assert "'seizure_red'" in message
    assert "did you mean 'seizures_red'?" in message


def test_unknown_name_far_from_any_lists_the_names_that_exist() -> None:
    text = broken(QUESTIONNAIRE, "when: wants_contact\n", "when: banana\n")
    problem = only_problem(text)
    assert (problem.code, problem.line) == ("unknown-name", line_of(text, "banana"))
    message = problem.message("en")
    assert "'banana'" in message and "did you mean" not in message
    for name in ("seizures_red", "seizures_yellow", "seizures", "side_effects", "wants_contact"):
        assert name in message


def test_syntax_error_in_when() -> None:
    text = broken(QUESTIONNAIRE, "seizures >= seizures_red", "seizures >= >= seizures_red")
    problem = only_problem(text)
    assert (problem.code, problem.line) == ("expression-syntax", line_of(text, ">= >="))
    message = problem.message("en")
    assert "'seizures >= >= seizures_red'" in message
    assert "unexpected '>='" in message
    assert "write it like" in message


@pytest.mark.parametrize(
    "when",
    ['seizures >= "many"', 'seizures_red == "many"', 'side_effects == "severe"'],
    ids=["number-vs-text", "threshold-equals-text", "scored-answer-equals-code"],
)
def test_type_mismatch_is_refused(when: str) -> None:
    # `==` between a number and text would silently never fire: never toward green.
    text = broken(QUESTIONNAIRE, "seizures >= seizures_red", when)
    problem = only_problem(text)
    assert (problem.code, problem.line) == ("type-mismatch", line_of(text, when))
    message = problem.message("en")
    assert when in message
    assert "is a number" in message
    assert "compare a number with a number" in message


def test_when_that_is_not_yes_or_no() -> None:
    text = broken(QUESTIONNAIRE, "when: wants_contact\n", "when: seizures + 1\n")
    problem = only_problem(text)
    assert (problem.code, problem.line) == ("when-not-boolean", line_of(text, "seizures + 1"))
    message = problem.message("en")
    assert "'seizures + 1' gives a number" in message
    assert "yes/no" in message and ">= 1" in message


def test_unknown_placeholder_in_say() -> None:
    text = broken(QUESTIONNAIRE, "(grense {seizures_red})", "(grense {seizure_red})")
    problem = only_problem(text)
    assert (problem.code, problem.line) == ("unknown-placeholder", line_of(text, "{seizure_red}"))
    message = problem.message("en")
    assert "'{seizure_red}'" in message
    assert "did you mean 'seizures_red'?" in message
