"""What the patient apps and the clinic staff of the safety model send: responses and
readings drawn by hypothesis, their times, tokens, and a pathway file with one threshold
changed (tests/model/machine.py sends them)."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import strategies as st

from api.auth import create_token
from runtime.settings import get_settings
from triage import Pathway

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
EPILEPSY = "http://example.no/fhir/Questionnaire/epilepsy-followup"
CAT = "http://example.no/fhir/Questionnaire/copd-cat"
FHIR_JSON = {"Content-Type": "application/fhir+json"}


def token(role: str, patient_id: str | None = None) -> dict[str, str]:
    value = create_token(get_settings(), role=role, patient_id=patient_id, pathways=["*"])  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {value}"}


# --- what the apps send -------------------------------------------------------------------

offsets = st.one_of(
    st.integers(min_value=0, max_value=7 * 24 * 60),  # minutes before the example's "now"
    st.sampled_from([-45, -180]),  # dated ahead of its arrival: a fast phone clock
)
Reading = tuple[str, float, bool]  # kind, value, coded SNOMED first


def readings_for(kinds: tuple[str, ...]) -> st.SearchStrategy[Reading]:
    values = {
        "weight": st.floats(min_value=60, max_value=68).map(lambda v: round(v, 1)),
        "spo2": st.integers(min_value=80, max_value=99).map(float),
        "pulse": st.integers(min_value=45, max_value=150).map(float),
        "bp": st.tuples(
            st.one_of(st.none(), st.integers(min_value=80, max_value=215)),
            st.one_of(st.none(), st.integers(min_value=45, max_value=125)),
        ),
    }
    return st.one_of(
        *(st.tuples(st.just(k), values[k], st.booleans()) for k in kinds)  # type: ignore[arg-type]
    )


def identifier() -> dict[str, str]:
    return {"system": "urn:test:model", "value": uuid.uuid4().hex}


def response(patient: str, form: str, data: st.DataObject, authored: str) -> dict[str, Any]:
    """A QuestionnaireResponse to ``form`` (epilepsy or the COPD CAT), its answers drawn."""
    if form == "epilepsy":
        answers = {
            "seizure-count": {"valueInteger": data.draw(st.integers(0, 6))},
            "side-effects": {
                "valueCoding": {"code": data.draw(st.sampled_from(["none", "mild", "severe"]))}
            },
            "new-seizure-type": {"valueBoolean": data.draw(st.booleans())},
            "wants-contact": {"valueBoolean": data.draw(st.booleans())},
        }
        url = EPILEPSY
    else:
        answers = {f"cat-{i}": {"valueInteger": data.draw(st.integers(0, 5))} for i in range(1, 9)}
        answers["rescue-pack"] = {"valueBoolean": data.draw(st.booleans())}
        url = CAT
    # Optional answers may be left out (missing values: three-valued logic).
    left_out = data.draw(st.sets(st.sampled_from(sorted(answers)), max_size=2))
    return {
        "resourceType": "QuestionnaireResponse",
        "identifier": identifier(),
        "questionnaire": f"{url}|1",
        "status": "completed",
        "subject": {"reference": f"Patient/{patient}"},
        "authored": authored,
        "item": [
            {"linkId": link, "answer": [value]}
            for link, value in answers.items()
            if link not in left_out
        ],
    }


def observation(patient: str, reading: Reading, effective: str) -> dict[str, Any]:
    """An Observation of ``reading``; a blood pressure may lack a component."""
    kind, value, snomed_first = reading
    codes = {
        "weight": ("29463-7", "27113001", "kg"),
        "spo2": ("59408-5", "431314004", "%"),
        "pulse": ("8867-4", "364075005", "/min"),
        "bp": ("85354-9", "75367002", "mm[Hg]"),
    }[kind]
    coding = [{"system": LOINC, "code": codes[0]}, {"system": SNOMED, "code": codes[1]}]
    if snomed_first:
        coding.reverse()
    body: dict[str, Any] = {
        "resourceType": "Observation",
        "identifier": [identifier()],
        "status": "final",
        "code": {"coding": coding},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": effective,
    }
    if kind != "bp":
        body["valueQuantity"] = {
            "value": value,
            "unit": codes[2],
            "system": UCUM,
            "code": codes[2],
        }
        return body
    systolic, diastolic = value  # type: ignore[misc]
    body["component"] = [
        {"code": {"coding": [{"system": LOINC, "code": code}]}}
        | (
            {"valueQuantity": {"value": v, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}}
            if v is not None
            else {"dataAbsentReason": {"coding": [{"code": "not-performed"}]}}
        )
        for code, v in (("8480-6", systolic), ("8462-4", diastolic))
    ]
    return body


def variant(text: str, pathway: Pathway, name: str, value: int) -> str:
    """The pathway file with one threshold's value changed, the version raised and its
    embedded tests left out (a new default may rightly change what they expect)."""
    lines = text.splitlines()
    out = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("tests:"):
            break
        if line.startswith("version:"):
            line = f"version: {pathway.version + 1}"
        elif stripped.startswith(f"{name}:") and "value:" in line:
            head, _, rest = line.partition("value:")
            line = f"{head}value: {value}," + rest.split(",", 1)[1]
        out.append(line)
    return "\n".join(out) + "\n"
