"""A pathway's own embedded tests that set, expect or answer what the pathway does not have
are refused with the line to fix; a broken rule is still there for them.

Each test breaks a small valid pathway (broken_pathways.py) in one place and checks the
problem's code, its exact line, and that the English message names the offending thing
and says what would be right.
"""

from __future__ import annotations

from broken_pathways import QUESTIONNAIRE, broken, line_of, only_problem, refused


def test_embedded_test_sets_a_threshold_outside_its_bounds() -> None:
    text = broken(QUESTIONNAIRE, "{seizures_red: 4}", "{seizures_red: 31}")
    problem = only_problem(text)
    assert (problem.code, problem.line) == ("test-threshold-outside", line_of(text, "31"))
    message = problem.message("en")
    assert "'seizures_red' to 31" in message
    assert "min 1 .. max 30" in message


def test_embedded_test_expects_a_rule_that_does_not_exist() -> None:
    text = broken(QUESTIONNAIRE, "[many-seizures]", "[many-seizure]")
    problem = only_problem(text)
    assert (problem.code, problem.line) == ("test-unknown-rule", line_of(text, "many-seizure]"))
    message = problem.message("en")
    assert "'many-seizure'" in message
    assert "did you mean 'many-seizures'?" in message


def test_a_rule_with_a_broken_when_still_exists_for_the_tests() -> None:
    # One mistake, one problem: the test naming that rule is not "no such rule".
    text = broken(QUESTIONNAIRE, "seizures >= seizures_red", "seizures >= >= seizures_red")
    assert [p.code for p in refused(text)] == ["expression-syntax"]


def test_embedded_test_answers_a_question_no_input_reads() -> None:
    text = broken(QUESTIONNAIRE, "{seizure-count: 5,", "{seizure-cnt: 5,")
    problem = only_problem(text)
    assert (problem.code, problem.line) == ("test-unknown-answer", line_of(text, "seizure-cnt"))
    message = problem.message("en")
    assert "'seizure-cnt'" in message
    assert "did you mean 'seizure-count'?" in message
