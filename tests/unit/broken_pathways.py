"""Two small valid pathways, and the tools to break one in one place and read what the loader
says about it, shared by the pathway error tests (test_pathway_errors_*.py).

Each test starts from a small valid pathway, breaks it in one place and checks the
problem's code, its exact line, and that the English message names the offending thing
and says what would be right.
"""

from __future__ import annotations

import pytest

import triage
from triage import PathwayError, Problem

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
