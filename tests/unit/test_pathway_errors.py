"""A broken pathway file is refused with the line (and column) a clinic staff member must fix.

Each test starts from a small valid pathway, breaks it in one place and checks the
problem's code, its exact line, and that the English message names the offending thing
and says what would be right.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import triage
from triage import PathwayError, Problem

CONTRACT = Path("/work/shared/contract/pathways")
RULES = Path(__file__).resolve().parents[2] / "rules"

QUESTIONNAIRE = """\
pathway: epilepsy
title: Epilepsi
version: 3
applies_to:
  questionnaires:
    - http://example.no/fhir/Questionnaire/epilepsy-followup
thresholds:
  seizures_red: {value: 3, min: 1, max: 30}
  seizures_yellow: 1
inputs:
  seizures: {answer: seizure-count, type: number, required: true}
  side_effects:
    answer: side-effects
    scores: {none: 0, mild: 1, severe: 2}
  wants_contact: {answer: wants-contact, type: boolean}
rules:
  - id: many-seizures
    when: seizures >= seizures_red
    level: red
    say: "{seizures} anfall (grense {seizures_red})"
    action: {consultation: physical, within: P14D}
  - id: wants-contact
    when: wants_contact
    level: yellow
otherwise:
  level: green
tests:
  - name: rolig
    answers: {seizure-count: 0, side-effects: none, wants-contact: false}
    expect: green
  - name: mange anfall
    answers: {seizure-count: 5, side-effects: none, wants-contact: false}
    thresholds: {seizures_red: 4}
    expect: red
    expect_rules: [many-seizures]
"""

OBSERVATION = """\
pathway: heart-failure
title: Hjertesvikt
version: 1
applies_to:
  observations:
    - {code: "http://loinc.org|29463-7", as: weight, unit: kg}
thresholds:
  gain_red: {value: 2, min: 1, max: 5}
inputs:
  weight_now: {observation: weight}
  weight_change: {observation: weight, change: P3D}
  mean_weight: {observation: weight, mean: P7D}
  heavy_share: {observation: weight, percent_above: {value: 100, over: P14D}}
rules:
  - id: weight-gain
    when: weight_change >= gain_red
    level: red
    say: "{weight_change} kg på tre dager"
tests:
  - name: stabil
    observations: {weight: [80, 80, 80]}
    expect: green
  - name: økning
    observations: {weight: [80, 81, 83]}
    expect: red
    expect_rules: [weight-gain]
"""


def broken(base: str, old: str, new: str) -> str:
    """``base`` with its one occurrence of ``old`` replaced by ``new``."""
    assert base.count(old) == 1, f"{old!r} must occur once in the base pathway"
    return base.replace(old, new)


def line_of(text: str, fragment: str) -> int:
    """The 1-based line of the one occurrence of ``fragment`` in ``text``."""
    assert text.count(fragment) == 1, f"{fragment!r} must occur once"
    return text[: text.index(fragment)].count("\n") + 1


def col_of(text: str, fragment: str) -> int:
    """The 1-based column where the one occurrence of ``fragment`` starts."""
    start = text.index(fragment)
    return start - (text.rfind("\n", 0, start) + 1) + 1


def refused(text: str) -> list[Problem]:
    with pytest.raises(PathwayError) as caught:
        triage.load_pathway_text(text, file="x.yaml")
    assert caught.value.problems, "a refused file must say why"
    return caught.value.problems


def only_problem(text: str) -> Problem:
    """The single problem in ``text``: one mistake must not be reported several times."""
    problems = refused(text)
    assert len(problems) == 1, [p.format() for p in problems]
    return problems[0]


def problem_with(text: str, code: str) -> Problem:
    matching = [p for p in refused(text) if p.code == code]
    assert len(matching) == 1, [p.format() for p in refused(text)]
    return matching[0]


def test_the_base_pathways_load() -> None:
    assert triage.load_pathway_text(QUESTIONNAIRE, file="x.yaml").id == "epilepsy"
    assert triage.load_pathway_text(OBSERVATION, file="x.yaml").id == "heart-failure"


# -- expressions -------------------------------------------------------------------


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


# -- readings ----------------------------------------------------------------------


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


# -- embedded tests ----------------------------------------------------------------


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


# -- the Norway problem (YAML 1.1 would read NO as false and yes as true) ----------

NORWAY = """\
pathway: country
title: Land
version: 1
applies_to:
  questionnaires: [http://example.no/fhir/Questionnaire/country]
inputs:
  country: {answer: country, scores: {NO: 1, yes: 2}}
rules:
  - id: norway
    when: country == 1
    level: yellow
tests:
  - name: norsk
    answers: {country: NO}
    expect: yellow
    expect_rules: [norway]
"""


def test_norway_codes_stay_text() -> None:
    pathway = triage.load_pathway_text(NORWAY, file="x.yaml")
    assert list(pathway.inputs["country"].scores) == ["NO", "yes"]
    assert pathway.tests[0].answers == {"country": "NO"}


def test_an_answer_no_scores_one() -> None:
    pathway = triage.load_pathway_text(NORWAY, file="x.yaml")
    result = triage.evaluate(pathway, answers={"country": "NO"})
    assert result.input_values["country"] == 1
    assert result.fired == ("norway",)
    assert [outcome.passed for outcome in triage.run_pathway_tests(pathway)] == [True]


# -- the whole file ----------------------------------------------------------------


def test_all_problems_in_a_file_are_reported_at_once_sorted_by_line() -> None:
    text = broken(QUESTIONNAIRE, "[many-seizures]", "[many-seizure]")
    text = broken(text, "level: yellow", "level: orange")
    text = broken(text, "{value: 3, min: 1, max: 30}", "{value: 40, min: 1, max: 30}")
    problems = refused(text)
    assert [(p.code, p.line) for p in problems] == [
        ("threshold-outside-bounds", line_of(text, "value: 40")),
        ("unknown-level", line_of(text, "orange")),
        ("test-unknown-rule", line_of(text, "many-seizure]")),
    ]


@pytest.mark.parametrize(
    "path",
    sorted(CONTRACT.glob("*.yaml")) + sorted(RULES.glob("*.yaml")),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_every_shipped_pathway_loads(path: Path) -> None:
    assert triage.check_pathway_file(path) == []


def test_shipped_pathways_are_found() -> None:
    # The parametrized test above must not pass by finding nothing.
    assert len(list(CONTRACT.glob("*.yaml"))) >= 4
    assert len(list(RULES.glob("*.yaml"))) >= 4
