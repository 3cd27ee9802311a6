"""Shared by the FHIR integration tests: tokens, the contract's samples, row counts."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import select

from api.auth import create_token
from fhir_adapters.norwegian_id import control_digits
from runtime.settings import get_settings
from store.db import session_scope
from store.models import Outbox, Patient, Reading, Resource

FHIR = Path(__file__).resolve().parents[3] / "shared" / "contract" / "fhir"
FNR = "urn:oid:2.16.578.1.12.4.1.4.1"


def bearer(role: str, patient_id: str | None = None) -> dict[str, str]:
    token = create_token(get_settings(), role=role, patient_id=patient_id, pathways=["*"])  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {token}"}


def sample(name: str, patient_id: str = "") -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (FHIR / name).read_text(encoding="utf-8").replace("{patient-id}", patient_id)
    )
    return data


def counts() -> dict[str, int]:
    with session_scope() as session:
        return {
            model.__name__: session.exec(select(func.count()).select_from(model)).one()
            for model in (Patient, Resource, Reading, Outbox)
        }


def weight(
    patient_ref: str, minute: int, value: Any = 80.5, ident: str | None = None
) -> dict[str, Any]:
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "subject": {"reference": patient_ref},
        "effectiveDateTime": f"2026-11-20T08:{minute:02d}:00+01:00",
        "valueQuantity": {
            "value": value,
            "unit": "kg",
            "system": "http://unitsofmeasure.org",
            "code": "kg",
        },
    }
    if ident:
        obs["identifier"] = [{"system": "urn:test:reading", "value": ident}]
    return obs


def fnr_patient(value: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": FNR, "value": value}],
        "name": [{"family": "Testesen", "given": ["Test"]}],
    }


_FRESH = random.SystemRandom()  # not the seeded module state hypothesis resets per example


def new_fnr() -> str:
    """A fresh synthetic fødselsnummer (month + 80, valid control digits)."""
    pick = _FRESH.randint
    while True:
        nine = f"{pick(1, 28):02d}{pick(81, 92):02d}{pick(0, 99):02d}{pick(0, 499):03d}"
        digits = control_digits(nine)
        if digits is not None:
            return f"{nine}{digits[0]}{digits[1]}"
