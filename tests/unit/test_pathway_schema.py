"""The editor schema (rules/pathway.schema.json) accepts every pathway file and refuses broken ones.

The schema is what VS Code shows clinic staff while they type; the engine's own loader is the
authority. These tests keep the two from drifting apart on the files we ship.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
SCHEMA_PATH = RULES / "pathway.schema.json"
CONTRACT = ROOT / ".." / "shared" / "contract" / "pathways"
SCHEMA_LINE = "# yaml-language-server: $schema=./pathway.schema.json"

RULE_FILES = sorted(RULES.glob("*.yaml"))
CONTRACT_FILES = sorted(CONTRACT.glob("*.yaml"))


def load_yaml(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema)


def errors(validator: Draft202012Validator, doc: Any) -> list[str]:
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
        for e in validator.iter_errors(doc)
    ]


def test_schema_is_a_valid_draft_2020_12_schema(schema: dict[str, Any]) -> None:
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_contract_pathways_are_beside_the_checkout() -> None:
    # The contract lives in ../shared; without it the parametrized cases below would be
    # silently empty, so its absence is a failure, not a skip.
    names = {p.stem for p in CONTRACT_FILES}
    assert {"epilepsy", "diabetes-cgm", "heart-failure", "wrist-fracture"} <= names, CONTRACT


def test_rules_folder_holds_the_pathways() -> None:
    names = {p.stem for p in RULE_FILES}
    assert {"epilepsy", "diabetes-cgm", "heart-failure", "wrist-fracture"} <= names
    assert {"depression-phq9", "copd"} <= names


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_rule_file_points_editors_at_the_schema(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first == SCHEMA_LINE


@pytest.mark.parametrize(
    "path",
    RULE_FILES + CONTRACT_FILES,
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_pathway_file_matches_schema(validator: Draft202012Validator, path: Path) -> None:
    assert errors(validator, load_yaml(path)) == []


def test_rule_files_have_tests_and_unique_rule_ids() -> None:
    for path in RULE_FILES:
        doc = load_yaml(path)
        ids = [rule["id"] for rule in doc["rules"]]
        assert len(ids) == len(set(ids)), path.name
        assert len(doc.get("tests", [])) >= 4, path.name
        for test in doc["tests"]:
            assert set(test.get("expect_rules", [])) <= set(ids), (path.name, test["name"])


MINIMAL: dict[str, Any] = {
    "pathway": "example",
    "title": "Eksempel",
    "version": 1,
    "applies_to": {"questionnaires": ["http://example.no/fhir/Questionnaire/example"]},
    "thresholds": {
        "pain_red": {"value": 7, "min": 4, "max": 10, "doc": "Smerte som gir rødt"},
        "pain_yellow": 4,
    },
    "inputs": {
        "pain": {"answer": "pain", "required": True, "type": "number"},
        "mood": {"answer": "mood", "scores": {"NO": 0, "yes": 1, "01": 2}},
    },
    "rules": [
        {
            "id": "severe-pain",
            "when": "pain >= pain_red",
            "level": "red",
            "say": "Smerte {pain}",
            "action": {"consultation": "physical", "within": "P3D"},
        }
    ],
    "otherwise": {"level": "green", "action": {"consultation": "none"}},
    "tests": [{"name": "rolig", "answers": {"pain": 1, "mood": "NO"}, "expect": "green"}],
}


def test_minimal_document_is_accepted(validator: Draft202012Validator) -> None:
    assert errors(validator, MINIMAL) == []


def test_norwegian_codes_in_yaml_stay_text() -> None:
    doc = YAML(typ="safe", pure=True).load(
        'scores: {NO: 0, "yes": 1, "01": 2}\nanswers: {country: NO}\n'
    )
    assert doc == {"scores": {"NO": 0, "yes": 1, "01": 2}, "answers": {"country": "NO"}}


def broken(change: Any) -> dict[str, Any]:
    doc = copy.deepcopy(MINIMAL)
    change(doc)
    return doc


def _set(path: tuple[Any, ...], value: Any) -> Any:
    def change(doc: dict[str, Any]) -> None:
        node: Any = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


BROKEN = {
    "unknown level": _set(("rules", 0, "level"), "orange"),
    "unknown level in otherwise": _set(("otherwise", "level"), "grønn"),
    "bad duration": _set(("rules", 0, "action", "within"), "3 days"),
    "empty duration": _set(("rules", 0, "action", "within"), "P"),
    "time without T": _set(("rules", 0, "action", "within"), "P4H"),
    "bad pathway id": _set(("pathway",), "Wrist_Fracture"),
    "bad rule id": _set(("rules", 0, "id"), "Severe pain"),
    "unknown consultation": _set(("rules", 0, "action", "consultation"), "letter"),
    "unknown top-level key": _set(("threshold",), {"x": 1}),
    "missing rules": lambda doc: doc.pop("rules"),
    "empty rules": _set(("rules",), []),
    "version not a whole number": _set(("version",), 1.5),
    "unknown key in a rule": _set(("rules", 0, "then"), "red"),
    "threshold with min but no max": _set(("thresholds", "pain_red"), {"value": 7, "min": 4}),
    "threshold as text": _set(("thresholds", "pain_yellow"), "4"),
    "score that is not a number": _set(("inputs", "mood", "scores", "yes"), "1"),
    "unknown answer type": _set(("inputs", "pain", "type"), "integer"),
    "two windows on one observation": _set(
        ("inputs", "weight"), {"observation": "weight", "mean": "P7D", "change": "P3D"}
    ),
    "percent without window": _set(
        ("inputs", "low"), {"observation": "glucose", "percent_below": {"value": 3.9}}
    ),
    "name with a dash": _set(("inputs", "pain-score"), {"answer": "pain"}),
    "reserved word as name": _set(("thresholds", "null"), 1),
    "input that is neither answer nor observation": _set(("inputs", "x"), {"required": True}),
    "code without system": _set(
        ("applies_to", "observations"), [{"code": "29463-7", "as": "weight", "unit": "kg"}]
    ),
    "schedule without every": _set(("schedule",), {"overdue_after": "P14D"}),
    "test without expect": _set(("tests", 0), {"name": "x", "answers": {"pain": 1}}),
    "test expecting an unknown level": _set(("tests", 0, "expect"), "amber"),
}


@pytest.mark.parametrize("change", BROKEN.values(), ids=BROKEN.keys())
def test_broken_document_is_refused(validator: Draft202012Validator, change: Any) -> None:
    assert errors(validator, broken(change)) != []
