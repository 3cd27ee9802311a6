"""A pathway file's embedded tests as FHIR: each test's answers as one QuestionnaireResponse
and its observations as Observations with the pathway's codes and units, in one transaction
Bundle for one synthetic patient. Times follow the engine's test runner: a reading's own
``at``, else one per hour up to the test's 'now'."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from triage.model import AnswerInput, Pathway, PathwayTest
from triage.testing import embedded_test_now

UCUM = "http://unitsofmeasure.org"


def number(value: Any) -> int | float:
    """A YAML or Decimal number as a JSON number (never a string: FHIR wants a number)."""
    exact = Decimal(str(value))
    return int(exact) if exact == exact.to_integral_value() else float(exact)


def coding(code: str) -> dict[str, Any]:
    system, _, value = code.rpartition("|")
    return (
        {"coding": [{"system": system, "code": value}]} if system else {"coding": [{"code": value}]}
    )


def typed_answer(spec: AnswerInput | None, value: Any) -> dict[str, Any]:
    """One answer typed as the pathway reads it: scored or coded answers as a Coding."""
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, str):
        coded = spec is not None and (spec.scores is not None or spec.type == "code")
        return {"valueCoding": {"code": value}} if coded else {"valueString": value}
    if isinstance(value, int):
        return {"valueInteger": int(value)}
    return {"valueDecimal": number(value)}


def response(pathway: Pathway, test: PathwayTest, ref: str, now: dt.datetime) -> dict[str, Any]:
    specs = {s.link_id: s for s in pathway.inputs.values() if isinstance(s, AnswerInput)}
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": pathway.questionnaires[0],
        "status": "completed",
        "subject": {"reference": ref},
        "authored": now.isoformat(),
        "item": [
            {"linkId": link, "answer": [typed_answer(specs.get(link), value)]}
            for link, value in test.answers.items()
        ],
    }


def _quantity(value: Any, unit: str) -> dict[str, Any]:
    return {"value": number(value), "unit": unit, "system": UCUM, "code": unit}


def observations(
    pathway: Pathway, test: PathwayTest, ref: str, now: dt.datetime
) -> list[dict[str, Any]]:
    """Plain readings one Observation each; panel components grouped by time into panels."""
    out: list[dict[str, Any]] = []
    panels: dict[tuple[str, dt.datetime], list[dict[str, Any]]] = {}
    for name, samples in test.observations.items():
        (panel, code), route = next((k, r) for k, r in pathway.routes.items() if r.name == name)
        hourly = sum(1 for s in samples if s.at is None)
        position = 0
        for sample in samples:
            at = sample.at
            if at is None:
                at, position = now - dt.timedelta(hours=hourly - 1 - position), position + 1
            if panel is not None:
                panels.setdefault((panel, at), []).append(
                    {"code": coding(code), "valueQuantity": _quantity(sample.value, route.unit)}
                )
                continue
            out.append(
                _observation(ref, code, at) | {"valueQuantity": _quantity(sample.value, route.unit)}
            )
    for (panel, at), components in panels.items():
        out.append(_observation(ref, panel, at) | {"component": components})
    return out


def _observation(ref: str, code: str, at: dt.datetime) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": coding(code),
        "subject": {"reference": ref},
        "effectiveDateTime": at.isoformat(),
    }


def bundle(pathway: Pathway, test: PathwayTest, patient_id: str) -> dict[str, Any]:
    """The test's situation as one transaction Bundle (empty when it has no data at all)."""
    now = embedded_test_now(test)
    ref = f"Patient/{patient_id}"
    resources = observations(pathway, test, ref, now)
    if test.answers:
        resources.insert(0, response(pathway, test, ref, now))
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "POST", "url": r["resourceType"]}}
            for r in resources
        ],
    }
