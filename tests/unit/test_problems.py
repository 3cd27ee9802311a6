"""The message catalogue: every problem the loader can report reads well in nb and en."""

from __future__ import annotations

import string

import pytest

import triage
from triage.problems import MESSAGES, PathwayError, Problem, default_lang

BASE = """\
pathway: demo
title: Demo
version: 1
applies_to:
  questionnaires: [http://example.no/fhir/Questionnaire/demo]
  observations:
    - {code: "http://loinc.org|29463-7", as: weight, unit: kg}
thresholds:
  limit: {value: 3, min: 1, max: 30}
  fixed: 1
inputs:
  score: {answer: score, type: number}
  weight_mean: {observation: weight, mean: P7D}
rules:
  - id: high
    when: score >= limit
    level: red
    say: "{score} poeng"
    action: {consultation: phone, within: P3D}
tests:
  - name: høy
    answers: {score: 5}
    observations: {weight: [80]}
    expect: red
"""

ROUTE = '    - {code: "http://loinc.org|29463-7", as: weight, unit: kg}\n'
RULES_BLOCK = BASE[BASE.index("rules:\n") : BASE.index("tests:\n")]

# One change to BASE that provokes each problem code: (old, new).
PROVOKE: dict[str, tuple[str, str]] = {
    "yaml-syntax": ("    level: red\n", "     level: red\n"),
    "yaml-duplicate-key": ("    level: red\n", "    level: red\n    level: yellow\n"),
    "not-a-mapping": ("  score: {answer: score, type: number}", "  score: [score]"),
    "not-a-list": (
        "questionnaires: [http://example.no/fhir/Questionnaire/demo]",
        "questionnaires: 7",
    ),
    "missing-key": ("version: 1\n", ""),
    "unknown-key": ("title: Demo\n", "title: Demo\ncolour: red\n"),
    "bad-pathway-id": ("pathway: demo", "pathway: Demo Clinic"),
    "bad-version": ("version: 1", "version: 0"),
    "not-text": ("title: Demo", "title: [Demo]"),
    "unknown-level": ("level: red", "level: orange"),
    "unknown-consultation": ("consultation: phone", "consultation: fone"),
    "bad-duration": ("within: P3D", "within: 3D"),
    "remind-not-ascending": (
        "thresholds:\n",
        "schedule: {every: P6M, remind_after: [P7D, P3D]}\nthresholds:\n",
    ),
    "remind-after-overdue": (
        "thresholds:\n",
        "schedule: {every: P6M, remind_after: [P3D], overdue_after: P2D}\nthresholds:\n",
    ),
    "bad-name": ("  fixed: 1", "  2fixed: 1"),
    "reserved-name": ("  fixed: 1", "  and: 1"),
    "name-twice": ("  fixed: 1", "  score: 1"),
    "duplicate-rule-id": (
        "tests:\n",
        "  - id: high\n    when: score >= 1\n    level: yellow\ntests:\n",
    ),
    "unknown-name": ("score >= limit", "score >= limt"),
    "expression-syntax": ("score >= limit", "score >= >= limit"),
    "type-mismatch": ("score >= limit", 'score == "many"'),
    "when-not-boolean": ("score >= limit", "score + 1"),
    "not-a-number": ("  fixed: 1", "  fixed: many"),
    "not-boolean": ("type: number}", "type: number, required: yes}"),
    "threshold-outside-bounds": ("{value: 3,", "{value: 40,"),
    "threshold-min-above-max": ("min: 1, max: 30", "min: 30, max: 1"),
    "threshold-half-bounds": ("min: 1, max: 30", "min: 1"),
    "input-form": ("{answer: score, type: number}", "{type: number}"),
    "unknown-observation": ("{observation: weight,", "{observation: wieght,"),
    "several-windows": ("mean: P7D}", "mean: P7D, max: P7D}"),
    "unknown-answer-type": ("type: number", "type: integer"),
    "scores-on-non-answer": ("mean: P7D}", "mean: P7D, scores: {a: 1}}"),
    "unknown-unit": ("unit: kg", "unit: stones"),
    "route-twice": (ROUTE, ROUTE + ROUTE.replace("weight", "mass")),
    "route-unit-conflict": (
        ROUTE,
        ROUTE + '    - {code: "http://loinc.org|3141-9", as: weight, unit: "[lb_av]"}\n',
    ),
    "bad-code": ('code: "http://loinc.org|29463-7"', 'code: "29463-7"'),
    "nothing-applies": (
        BASE[BASE.index("applies_to:\n") : BASE.index("thresholds:\n")],
        "applies_to: {}\n",
    ),
    "empty-list": (RULES_BLOCK, "rules: []\n"),
    "unknown-placeholder": ('"{score} poeng"', '"{scor} poeng"'),
    "test-unknown-threshold": (
        "    expect: red\n",
        "    thresholds: {limitt: 2}\n    expect: red\n",
    ),
    "test-threshold-fixed": ("    expect: red\n", "    thresholds: {fixed: 2}\n    expect: red\n"),
    "test-threshold-outside": (
        "    expect: red\n",
        "    thresholds: {limit: 99}\n    expect: red\n",
    ),
    "test-unknown-rule": ("    expect: red\n", "    expect: red\n    expect_rules: [hgh]\n"),
    "test-unknown-answer": ("answers: {score: 5}", "answers: {scor: 5}"),
    "test-bad-time": ("[80]", "[{value: 80, at: yesterday}]"),
}

# English that must not appear in a Norwegian message (parameters the loader passes).
ENGLISH = ("the file", "a threshold", "an input", "a derived value", "a number", " is ")


def provoked(code: str) -> Problem:
    old, new = PROVOKE[code]
    assert BASE.count(old) == 1, f"{old!r} must occur once in BASE"
    with pytest.raises(PathwayError) as caught:
        triage.load_pathway_text(BASE.replace(old, new), file="demo.yaml")
    matching = [p for p in caught.value.problems if p.code == code]
    assert matching, [p.format() for p in caught.value.problems]
    return matching[0]


def test_base_loads() -> None:
    assert triage.load_pathway_text(BASE, file="demo.yaml").id == "demo"


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_code_has_norwegian_and_english_text(code: str) -> None:
    assert set(MESSAGES[code]) == {"nb", "en"}
    assert MESSAGES[code]["nb"].strip() and MESSAGES[code]["en"].strip()


def test_every_code_can_be_provoked() -> None:
    # A new code needs a case in PROVOKE, so that its wording is rendered below.
    assert set(PROVOKE) == set(MESSAGES)


@pytest.mark.parametrize("code", sorted(PROVOKE))
@pytest.mark.parametrize("lang", ["nb", "en"])
def test_each_real_problem_renders_completely(code: str, lang: str) -> None:
    problem = provoked(code)
    message = problem.message(lang)  # a missing parameter would raise KeyError
    fields = {f for _, f, _, _ in string.Formatter().parse(MESSAGES[code][lang]) if f}
    for field in fields:
        assert "{" + field + "}" not in message
    assert "None" not in message
    assert problem.format(lang) == f"demo.yaml:{problem.line}:{problem.col}: {message}"


@pytest.mark.parametrize("code", sorted(PROVOKE))
def test_norwegian_messages_are_not_half_english(code: str) -> None:
    message = provoked(code).message("nb")
    assert not [phrase for phrase in ENGLISH if phrase in message], message


def test_name_twice_is_worded_in_each_language() -> None:
    problem = provoked("name-twice")
    assert "en terskel på linje 10" in problem.message("nb")
    assert "a threshold on line 10" in problem.message("en")


def test_format_is_file_line_col_message() -> None:
    problem = Problem("rules/x.yaml", 12, 7, "unknown-level", {"value": "orange", "close": None})
    assert problem.format() == (
        "rules/x.yaml:12:7: unknown level 'orange'; use red, yellow or green"
    )
    assert str(problem) == problem.format("en")
    assert (
        problem.format("nb")
        == "rules/x.yaml:12:7: ukjent nivå 'orange'; bruk red, yellow eller green"
    )


def test_suggestion_is_worded_in_each_language() -> None:
    problem = Problem("x.yaml", 1, 1, "unknown-level", {"value": "rød", "close": "red"})
    assert "(did you mean 'red'?)" in problem.message("en")
    assert "(mente du 'red'?)" in problem.message("nb")


def test_pathway_error_lists_problems_sorted_by_line_and_column() -> None:
    later = Problem("x.yaml", 9, 1, "missing-key", {"key": "k", "where": "w", "example": "k: 1"})
    first = Problem("x.yaml", 2, 5, "bad-version", {"value": 0})
    same_line = Problem("x.yaml", 2, 1, "bad-version", {"value": -1})
    error = PathwayError([later, first, same_line])
    assert error.problems == [same_line, first, later]
    assert str(error).splitlines() == [p.format("en") for p in error.problems]
    assert error.format("nb").splitlines() == [p.format("nb") for p in error.problems]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"TRIAGE_LANG": "en", "LANG": "nb_NO.UTF-8"}, "en"),
        ({"TRIAGE_LANG": "nb"}, "nb"),
        ({"LANG": "nb_NO.UTF-8"}, "nb"),
        ({"LANG": "nn_NO.UTF-8"}, "nb"),
        ({"LANG": "en_GB.UTF-8"}, "en"),
        ({}, "en"),
    ],
)
def test_default_language(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for name in ("TRIAGE_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert default_lang() == expected
