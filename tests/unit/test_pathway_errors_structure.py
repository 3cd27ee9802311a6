"""A pathway's levels, rule ids, names, required keys, thresholds and YAML itself: each
mistake is refused with the line to fix.

Each test breaks a small valid pathway (broken_pathways.py) in one place and checks the
problem's code, its exact line, and that the English message names the offending thing
and says what would be right.
"""

from __future__ import annotations

import pytest
from broken_pathways import QUESTIONNAIRE, broken, line_of, only_problem, problem_with

# -- levels, rules, names ----------------------------------------------------------


@pytest.mark.parametrize(("level", "suggestion"), [("orange", None), ("rød", "red")])
def test_unknown_level(level: str, suggestion: str | None) -> None:
    text = broken(QUESTIONNAIRE, "    level: red\n", f"    level: {level}\n")
    problem = only_problem(text)
    assert (problem.code, problem.line) == ("unknown-level", line_of(text, level))
    message = problem.message("en")
    assert f"'{level}'" in message
    assert "use red, yellow or green" in message
    assert (f"did you mean '{suggestion}'?" in message) == (suggestion is not None)


def test_duplicate_rule_id_reports_the_later_rule_and_the_first_line() -> None:
    text = broken(QUESTIONNAIRE, "- id: wants-contact", "- id: many-seizures")
    first = line_of(QUESTIONNAIRE, "- id: many-seizures")
    later = line_of(QUESTIONNAIRE, "- id: wants-contact")
    problem = only_problem(text)
    assert (problem.code, problem.line) == ("duplicate-rule-id", later)
    message = problem.message("en")
    assert "'many-seizures'" in message
    assert f"already used on line {first}" in message


def test_name_used_twice_reports_the_later_line_and_gives_the_first() -> None:
    text = broken(
        QUESTIONNAIRE, "  wants_contact:", "  seizures_red: {answer: x}\n  wants_contact:"
    )
    problem = only_problem(text)
    assert problem.code == "name-twice"
    assert problem.line == line_of(text, "seizures_red: {answer: x}")
    message = problem.message("en")
    assert "'seizures_red'" in message
    assert f"a threshold on line {line_of(text, 'seizures_red: {value')}" in message
    assert "another name" in message


@pytest.mark.parametrize(
    ("old", "key", "line"),
    [
        ("    level: yellow\n", "level", line_of(QUESTIONNAIRE, "- id: wants-contact")),
        ("pathway: epilepsy\n", "pathway", 1),
        ("version: 3\n", "version", 1),
    ],
    ids=["level-in-rule", "pathway", "version"],
)
def test_missing_required_key(old: str, key: str, line: int) -> None:
    problem = only_problem(broken(QUESTIONNAIRE, old, ""))
    assert (problem.code, problem.line) == ("missing-key", line)
    message = problem.message("en")
    assert f"'{key}' is missing" in message
    assert f"add a line such as {key}: " in message


def test_unknown_top_level_key_suggests_the_right_one() -> None:
    text = broken(QUESTIONNAIRE, "\nthresholds:\n", "\nthreshold:\n")
    problem = problem_with(text, "unknown-key")
    assert problem.line == line_of(text, "threshold:")
    assert problem.col == 1
    message = problem.message("en")
    assert "unknown key 'threshold'" in message
    assert "did you mean 'thresholds'?" in message


def test_bad_pathway_id() -> None:
    text = broken(QUESTIONNAIRE, "pathway: epilepsy", "pathway: Epilepsy Clinic")
    problem = only_problem(text)
    assert (problem.code, problem.line, problem.col) == ("bad-pathway-id", 1, 10)
    message = problem.message("en")
    assert "'Epilepsy Clinic'" in message
    assert "lower-case letters, digits and '-'" in message


@pytest.mark.parametrize(("version", "shown"), [('"3"', '"3"'), ("0", "0")])
def test_bad_version(version: str, shown: str) -> None:
    text = broken(QUESTIONNAIRE, "version: 3", f"version: {version}")
    problem = only_problem(text)
    assert (problem.code, problem.line) == ("bad-version", 3)
    message = problem.message("en")
    assert f"not {shown};" in message
    assert "whole number" in message


# -- thresholds --------------------------------------------------------------------


def test_threshold_value_outside_its_own_limits() -> None:
    text = broken(QUESTIONNAIRE, "{value: 3, min: 1, max: 30}", "{value: 40, min: 1, max: 30}")
    problem = only_problem(text)
    assert (problem.code, problem.line) == ("threshold-outside-bounds", 8)
    message = problem.message("en")
    assert "'seizures_red' has value 40" in message
    assert "min 1 .. max 30" in message
    assert "change the value or the limits" in message


def test_threshold_with_min_above_max() -> None:
    text = broken(QUESTIONNAIRE, "{value: 3, min: 1, max: 30}", "{value: 3, min: 30, max: 1}")
    problem = problem_with(text, "threshold-min-above-max")
    assert problem.line == 8
    message = problem.message("en")
    assert "'seizures_red' has min 30 above max 1" in message
    assert "swap them" in message


# -- YAML itself -------------------------------------------------------------------


def test_broken_indentation() -> None:
    text = broken(QUESTIONNAIRE, "    level: red\n", "     level: red\n")
    problem = only_problem(text)
    assert (problem.code, problem.line) == ("yaml-syntax", line_of(text, "     level: red"))
    message = problem.message("en")
    assert "not valid YAML" in message
    assert "Check the indentation" in message


def test_duplicate_yaml_key_reports_the_second_one() -> None:
    text = broken(QUESTIONNAIRE, "    level: yellow\n", "    level: yellow\n    level: red\n")
    problem = only_problem(text)
    assert problem.code == "yaml-duplicate-key"
    assert problem.line == line_of(text, "level: yellow\n") + 1
    message = problem.message("en")
    assert "'level' is written twice" in message
    assert "keep only one" in message
