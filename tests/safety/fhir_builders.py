"""What the attack suite posts: FHIR Observations, QuestionnaireResponses and Bundles as a
patient app (buggy or not) would send them, the demo's codes and pathways, and times
relative to now."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from typing import Any

from tests.safety.client import Patient

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
IDENT_SYSTEM = "urn:test:safety"
FORMS = "http://example.no/fhir/Questionnaire/"
EPILEPSY = FORMS + "epilepsy-followup"
PHQ9 = FORMS + "phq-9"
COPD_CAT = FORMS + "copd-cat"
WRIST = FORMS + "wrist-fracture-followup"
SIDE_EFFECTS = "http://example.no/fhir/CodeSystem/side-effects"
NOT_AT_ALL, NEARLY_EVERY_DAY = "LA6568-5", "LA6571-9"

HF, HTN, EPI, DEP, COPD, WRIST_PATHWAY = (
    "heart-failure",
    "hypertension-home-bp",
    "epilepsy",
    "depression-phq9",
    "copd",
    "wrist-fracture",
)


def ago(hours: float = 0, minutes: float = 0) -> str:
    """A time ``hours`` (and ``minutes``) before now, ISO 8601 with offset, whole seconds."""
    when = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours, minutes=minutes)
    return when.isoformat(timespec="seconds")


def ahead(hours: float) -> str:
    return ago(hours=-hours)


def ident(label: str = "") -> dict[str, str]:
    return {"system": IDENT_SYSTEM, "value": f"{label}{uuid.uuid4().hex}"}


def coding(system: str, code: str) -> dict[str, str]:
    return {"system": system, "code": code}


def quantity(value: Any, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def observation(
    patient: Patient,
    codings: list[dict[str, str]],
    value: Any,
    unit: str,
    when: str,
    *,
    identifier: dict[str, str] | None = None,
    status: str = "final",
) -> dict[str, Any]:
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "status": status,
        "code": {"coding": codings},
        "subject": {"reference": patient.ref},
        "effectiveDateTime": when,
        "valueQuantity": quantity(value, unit),
    }
    if identifier is not None:
        obs["identifier"] = [identifier]
    return obs


def spo2(patient: Patient, value: Any, when: str, **kw: Any) -> dict[str, Any]:
    return observation(patient, [coding(LOINC, "59408-5")], value, "%", when, **kw)


def pulse(patient: Patient, value: Any, when: str, **kw: Any) -> dict[str, Any]:
    return observation(patient, [coding(LOINC, "8867-4")], value, "/min", when, **kw)


def weight(patient: Patient, value: Any, when: str, unit: str = "kg", **kw: Any) -> dict[str, Any]:
    return observation(patient, [coding(LOINC, "29463-7")], value, unit, when, **kw)


SYSTOLIC = [coding(LOINC, "8480-6")]
DIASTOLIC = [coding(LOINC, "8462-4")]
BP_PANEL = [coding(LOINC, "85354-9")]


def blood_pressure(
    patient: Patient,
    when: str,
    systolic: Any = None,
    diastolic: Any = None,
    *,
    panel: list[dict[str, str]] | None = None,
    systolic_codings: list[dict[str, str]] | None = None,
    absent: str | None = None,
    identifier: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A BP panel (LOINC 85354-9) with the components given; ``absent`` ("systolic" or
    "diastolic") adds that component with a ``dataAbsentReason`` instead of a value."""
    components = []
    for name, value, codings in (
        ("systolic", systolic, systolic_codings or SYSTOLIC),
        ("diastolic", diastolic, DIASTOLIC),
    ):
        if value is not None:
            components.append(
                {"code": {"coding": codings}, "valueQuantity": quantity(value, "mm[Hg]")}
            )
        elif absent == name:
            reason = {
                "coding": [
                    coding("http://terminology.hl7.org/CodeSystem/data-absent-reason", "error")
                ]
            }
            components.append({"code": {"coding": codings}, "dataAbsentReason": reason})
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": panel or BP_PANEL},
        "subject": {"reference": patient.ref},
        "effectiveDateTime": when,
        "component": components,
    }
    if identifier is not None:
        obs["identifier"] = [identifier]
    return obs


def response(
    patient: Patient,
    questionnaire: str | None,
    answers: list[tuple[str, list[dict[str, Any]]]],
    when: str,
    *,
    status: str = "completed",
    identifier: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A QuestionnaireResponse; ``answers`` is ``[(linkId, [answer, ...]), ...]`` in order."""
    body: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "status": status,
        "subject": {"reference": patient.ref},
        "authored": when,
        "item": [{"linkId": link, "answer": given} for link, given in answers],
    }
    if questionnaire is not None:
        body["questionnaire"] = questionnaire
    if identifier is not None:
        body["identifier"] = identifier
    return body


def integer(n: int) -> list[dict[str, Any]]:
    return [{"valueInteger": n}]


def boolean(b: bool) -> list[dict[str, Any]]:
    return [{"valueBoolean": b}]


def choice(system: str, *codes: str) -> list[dict[str, Any]]:
    return [{"valueCoding": coding(system, code)} for code in codes]


def epilepsy(
    patient: Patient, seizures: int, when: str, questionnaire: str = EPILEPSY, **kw: Any
) -> dict[str, Any]:
    """An epilepsy follow-up: 0 seizures is green, 5 (3 or more) is red."""
    answers = [
        ("seizure-count", integer(seizures)),
        ("new-seizure-type", boolean(False)),
        ("side-effects", choice(SIDE_EFFECTS, "none")),
        ("wants-contact", boolean(False)),
    ]
    return response(patient, questionnaire, answers, when, **kw)


def phq9(
    patient: Patient,
    when: str,
    item9: list[dict[str, Any]] | None = None,
    questionnaire: str = PHQ9 + "|1",
    **kw: Any,
) -> dict[str, Any]:
    """A PHQ-9 with items 1-8 "not at all" and item 9 as given (default "not at all")."""
    answers = [(f"phq9-{n}", choice(LOINC, NOT_AT_ALL)) for n in range(1, 9)]
    answers.append(("phq9-9", item9 if item9 is not None else choice(LOINC, NOT_AT_ALL)))
    answers.append(("wants-contact", boolean(False)))
    return response(patient, questionnaire, answers, when, **kw)


def cat(patient: Patient, each: int, when: str, **kw: Any) -> dict[str, Any]:
    """A COPD CAT with every one of the 8 answers ``each`` (8 is green, 40 is red)."""
    answers = [(f"cat-{n}", integer(each)) for n in range(1, 9)]
    answers += [("rescue-pack", boolean(False)), ("wants-contact", boolean(False))]
    return response(patient, COPD_CAT, answers, when, **kw)


def wrist(patient: Patient, pain: int, when: str) -> dict[str, Any]:
    answers = [
        ("pain", integer(pain)),
        ("function", integer(8)),
        ("wound-problem", boolean(False)),
        ("numbness", boolean(False)),
        ("fever", boolean(False)),
    ]
    return response(patient, WRIST, answers, when)


def bundle(kind: str, resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [
            {"resource": r, "request": {"method": "POST", "url": r["resourceType"]}}
            for r in resources
        ],
    }


def edited(resource: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of a stored resource with top-level elements changed, ``meta`` left out."""
    body = copy.deepcopy(resource)
    body.pop("meta", None)
    body.update(changes)
    return body
