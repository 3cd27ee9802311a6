"""The epilepsy-like pathway the result tests evaluate (test_engine_results_*.py), ``run``
to evaluate it, and the words of the engine's patient messages they look for."""

from __future__ import annotations

from helpers import NOW, make_pathway

import triage

REVIEW_WORDS = "ser gjennom"  # the engine's "a clinician will look at your answers"
NO_NEED = "Svarene dine tyder ikke på behov for kontroll nå."

SEIZURES = """
    thresholds:
      seizures_red: {value: 3, min: 1, max: 30, doc: Anfall siden sist som gir rødt}
      seizures_yellow: 1
      temp_limit: {value: 38.0, min: 37.5, max: 39.5}
    inputs:
      seizures: {answer: seizure-count, type: number, required: true}
      wants_contact: {answer: wants-contact, type: boolean}
      temp: {answer: temperature, type: number}
      ratio: {answer: ratio, type: number}
    rules:
      - id: many-seizures
        when: seizures >= seizures_red
        level: red
        say: "{seizures} anfall (grense {seizures_red})"
        action: {consultation: phone, within: P14D}
        patient_message: Vi ringer deg innen to uker.
      - id: fever
        when: temp > temp_limit
        level: red
        say: "Feber {temp} °C"
        action: {consultation: physical, within: P1D}
      - id: some-seizures
        when: seizures >= seizures_yellow
        level: yellow
        say: "{seizures} anfall"
        action: {consultation: digital, within: P1D}
        patient_message: Vi sender deg en melding.
      - id: wants-contact
        when: wants_contact
        level: yellow
        say: "Ønsker kontakt: {wants_contact}"
        action: {consultation: phone, within: P7D}
        patient_message: Vi tar kontakt innen en uke.
      - id: ratio-high
        when: ratio > 0.5
        level: yellow
        say: "Andel {ratio}"
    otherwise:
      level: green
      action: {consultation: none}
      patient_message: "Takk! Svarene dine tyder ikke på behov for kontroll nå."
"""
PATHWAY = make_pathway(SEIZURES)


def run(answers: dict[str, object], **kwargs: object) -> triage.Result:
    return triage.evaluate(PATHWAY, answers=answers, now=NOW, **kwargs)  # type: ignore[arg-type]
