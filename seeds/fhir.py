"""FHIR R4 JSON for the demo: responses, device readings and transaction Bundles.

Every resource carries a stable ``identifier`` in the demo's own system, so loading the
demo twice stores everything once (the service deduplicates on identifiers).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

SUBJECT = "Patient/{patient-id}"  # replaced by the id the service gave the Patient
DEMO_SYSTEM = "http://example.no/fhir/sid/demo-seed"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
VITAL = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs",
        }
    ]
}
# LOINC code -> (display, UCUM unit, unit as shown)
CODES = {
    "29463-7": ("Body weight", "kg", "kg"),
    "8867-4": ("Heart rate", "/min", "/min"),
    "59408-5": ("Oxygen saturation by pulse oximetry", "%", "%"),
    "8310-5": ("Body temperature", "Cel", "°C"),
    "15074-8": ("Glucose [Moles/volume] in Blood", "mmol/L", "mmol/L"),
    "2339-0": ("Glucose [Mass/volume] in Blood", "mg/dL", "mg/dL"),
}


def stamp(time: dt.datetime) -> str:
    return time.isoformat(timespec="seconds")


def identifier(value: str) -> dict[str, str]:
    return {"system": DEMO_SYSTEM, "value": value}


def _answer(value: Any, system: str | None) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, int):
        return {"valueInteger": value}
    if isinstance(value, float):
        return {"valueDecimal": value}
    return {"valueCoding": {"system": system, "code": value}}


def response(
    ident: str,
    questionnaire: str,
    authored: dt.datetime,
    answers: dict[str, Any],
    systems: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A completed QuestionnaireResponse; a string answer is a Coding in ``systems[linkId]``."""
    systems = systems or {}
    return {
        "resourceType": "QuestionnaireResponse",
        "identifier": identifier(ident),
        "questionnaire": f"{questionnaire}|1",
        "status": "completed",
        "subject": {"reference": SUBJECT},
        "authored": stamp(authored),
        "item": [
            {"linkId": link, "answer": [_answer(value, systems.get(link))]}
            for link, value in answers.items()
        ],
    }


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def reading(ident: str, code: str, value: float, at: dt.datetime, device: str) -> dict[str, Any]:
    """One device reading with a LOINC code from :data:`CODES`."""
    display, unit, shown = CODES[code]
    quantity = _quantity(value, unit)
    quantity["unit"] = shown
    return {
        "resourceType": "Observation",
        "identifier": [identifier(ident)],
        "status": "final",
        "category": [VITAL],
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        "subject": {"reference": SUBJECT},
        "effectiveDateTime": stamp(at),
        "valueQuantity": quantity,
        "device": {"display": device},
    }


def blood_pressure(ident: str, systolic: int, diastolic: int, at: dt.datetime) -> dict[str, Any]:
    """A blood pressure panel (85354-9) with systolic and diastolic components."""

    def part(code: str, value: int) -> dict[str, Any]:
        return {
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "valueQuantity": {**_quantity(value, "mm[Hg]"), "unit": "mmHg"},
        }

    return {
        "resourceType": "Observation",
        "identifier": [identifier(ident)],
        "status": "final",
        "category": [VITAL],
        "code": {"coding": [{"system": LOINC, "code": "85354-9", "display": "Blood pressure"}]},
        "subject": {"reference": SUBJECT},
        "effectiveDateTime": stamp(at),
        "component": [part("8480-6", systolic), part("8462-4", diastolic)],
        "device": {"display": "Blodtrykksmåler"},
    }


def transaction(resources: list[dict[str, Any]], patient_id: str) -> dict[str, Any]:
    """A transaction Bundle posting ``resources`` for the patient the service calls
    ``patient_id``; each entry is a conditional create on the resource's identifier."""
    entries = []
    for resource in resources:
        body = {**resource, "subject": {"reference": f"Patient/{patient_id}"}}
        ident = resource["identifier"]
        ident = ident[0] if isinstance(ident, list) else ident
        entries.append(
            {
                "fullUrl": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, ident['value'])}",
                "resource": body,
                "request": {
                    "method": "POST",
                    "url": resource["resourceType"],
                    "ifNoneExist": f"identifier={ident['system']}|{ident['value']}",
                },
            }
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}
