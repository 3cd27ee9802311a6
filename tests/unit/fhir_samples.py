"""The contract's FHIR samples, and small changes to them, shared by the fhir_adapters tests
(test_fhir_adapters_*.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO.parent / "shared" / "contract" / "fhir"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"


def sample(name: str) -> dict[str, Any]:
    text = (SAMPLES / name).read_text(encoding="utf-8").replace("{patient-id}", "p-1")
    data: dict[str, Any] = json.loads(text)
    return data


def glucose_with(**changes: Any) -> dict[str, Any]:
    """The glucose sample with top-level elements changed (``None`` leaves one out)."""
    obs = sample("Observation-glucose-mgdl.json")
    for key, value in changes.items():
        if value is None:
            del obs[key]
        else:
            obs[key] = value
    return obs


def glucose_value(value: Any) -> dict[str, Any]:
    obs = sample("Observation-glucose-mgdl.json")
    obs["valueQuantity"]["value"] = value
    return obs


def coded(codings: list[tuple[str, str]], value: float, unit: str) -> dict[str, Any]:
    """A glucose-sample Observation recoded with ``codings``, holding ``value`` in ``unit``."""
    obs = glucose_with(valueQuantity={"value": value, "system": UCUM, "code": unit})
    obs["code"] = {"coding": [{"system": s, "code": c} for s, c in codings]}
    return obs
