"""Whole pathway files: the base pathways and every shipped one load, codes such as NO stay
text (YAML 1.1's Norway problem), and every problem in a file is reported at once, sorted
by line."""

from __future__ import annotations

from pathlib import Path

import pytest
from broken_pathways import OBSERVATION, QUESTIONNAIRE, broken, line_of, refused

import triage

CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "contract" / "pathways"
RULES = Path(__file__).resolve().parents[2] / "rules"


def test_the_base_pathways_load() -> None:
    assert triage.load_pathway_text(QUESTIONNAIRE, file="x.yaml").id == "epilepsy"
    assert triage.load_pathway_text(OBSERVATION, file="x.yaml").id == "heart-failure"


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
