"""A synthetic Questionnaire with every item type the patient form shows, groups and
``enableWhen``; used by the form's unit, integration, browser tests and its bench."""

from __future__ import annotations

import uuid
from typing import Any

SYSTEM = "http://example.no/fhir/CodeSystem/form-test"


def coding(code: str, display: str) -> dict[str, Any]:
    return {"valueCoding": {"system": SYSTEM, "code": code, "display": display}}


def every_type(url: str | None = None) -> dict[str, Any]:
    """Integer with a range, decimal, boolean, choice, string, text, date, a nested group,
    and items enabled by =, exists, >= (all) and != / < (any)."""
    return {
        "resourceType": "Questionnaire",
        "url": url or f"http://example.no/fhir/Questionnaire/form-{uuid.uuid4().hex[:8]}",
        "version": "2",
        "title": "Oppfølging hjemme",
        "status": "active",
        "language": "nb",
        "item": [
            {
                "linkId": "pain",
                "text": "Hvor vondt har du (0-10)?",
                "type": "integer",
                "required": True,
                "extension": [
                    {"url": "http://hl7.org/fhir/StructureDefinition/minValue", "valueInteger": 0},
                    {"url": "http://hl7.org/fhir/StructureDefinition/maxValue", "valueInteger": 10},
                ],
            },
            {"linkId": "weight", "text": "Vekt i kilo", "type": "decimal"},
            {"linkId": "fever", "text": "Har du hatt feber?", "type": "boolean", "required": True},
            {
                "linkId": "fever-days",
                "text": "Hvor mange dager med feber?",
                "type": "integer",
                "required": True,
                "enableWhen": [{"question": "fever", "operator": "=", "answerBoolean": True}],
            },
            {
                "linkId": "mood",
                "text": "Hvordan er humøret?",
                "type": "choice",
                "answerOption": [coding("good", "Godt"), coding("low", "Nedstemt")],
            },
            {
                "linkId": "mood-note",
                "text": "Fortell om humøret",
                "type": "text",
                "enableWhen": [
                    {
                        "question": "mood",
                        "operator": "!=",
                        "answerCoding": {"system": SYSTEM, "code": "good"},
                    },
                    {"question": "pain", "operator": "<", "answerInteger": 0},
                ],
                "enableBehavior": "any",
            },
            {"linkId": "last-visit", "text": "Dato for siste legebesøk", "type": "date"},
            {
                "linkId": "home",
                "text": "Hjemme",
                "type": "group",
                "item": [
                    {"linkId": "help", "text": "Hvem hjelper deg?", "type": "string"},
                    {
                        "linkId": "help-hours",
                        "text": "Timer hjelp per uke",
                        "type": "decimal",
                        "enableWhen": [
                            {"question": "help", "operator": "exists", "answerBoolean": True},
                            {"question": "pain", "operator": ">=", "answerInteger": 3},
                        ],
                    },
                ],
            },
        ],
    }


def many_items(count: int = 30) -> dict[str, Any]:
    """``count`` items of mixed kinds in groups of ten (the bench's questionnaire)."""
    kinds = ("integer", "boolean", "choice", "decimal", "string", "date")
    groups: list[dict[str, Any]] = []
    for g in range(0, count, 10):
        items = []
        for n in range(g, min(g + 10, count)):
            kind = kinds[n % len(kinds)]
            item: dict[str, Any] = {"linkId": f"q{n}", "text": f"Spørsmål {n + 1}", "type": kind}
            if kind == "choice":
                item["answerOption"] = [
                    {"valueCoding": {"system": SYSTEM, "code": f"c{k}", "display": f"Svar {k}"}}
                    for k in range(4)
                ]
            if n % 5 == 4:
                item["enableWhen"] = [
                    {"question": f"q{n - 3}", "operator": "exists", "answerBoolean": True}
                ]
            items.append(item)
        groups.append(
            {"linkId": f"g{g}", "text": f"Del {g // 10 + 1}", "type": "group", "item": items}
        )
    return {
        "resourceType": "Questionnaire",
        "url": "http://example.no/fhir/Questionnaire/bench-30",
        "version": "1",
        "title": "Tretti spørsmål",
        "status": "active",
        "language": "nb",
        "item": groups,
    }
