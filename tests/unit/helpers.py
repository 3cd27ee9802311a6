"""Small pathways written in the tests themselves, and the clock they are evaluated at."""

from __future__ import annotations

import datetime as dt
import textwrap

import triage

# 20 Nov 2024 08:00 UTC: "now" in every test unless a test says otherwise.
NOW = dt.datetime(2024, 11, 20, 8, 0, tzinfo=dt.UTC)

LOINC = "http://loinc.org|"
WEIGHT = LOINC + "29463-7"
GLUCOSE = LOINC + "15074-8"  # a glucose code: mg/dL <-> mmol/L is known for it
TEMPERATURE = LOINC + "8310-5"
KETONES = "http://example.no/device|ketones"  # mmol/L, but not glucose
BP_PANEL = LOINC + "85354-9"
SYSTOLIC = LOINC + "8480-6"
DIASTOLIC = LOINC + "8462-4"

# Every device reading the test pathways may name, with the unit the pathway wants.
OBSERVATIONS = f"""\
applies_to:
  questionnaires: [http://example.no/fhir/Questionnaire/test]
  observations:
    - {{code: "{WEIGHT}", as: weight, unit: kg}}
    - {{code: "{GLUCOSE}", as: glucose, unit: mmol/L}}
    - {{code: "{TEMPERATURE}", as: temperature, unit: Cel}}
    - {{code: "{KETONES}", as: ketones, unit: mmol/L}}
    - code: "{BP_PANEL}"
      components:
        "{SYSTOLIC}": {{as: systolic, unit: "mm[Hg]"}}
        "{DIASTOLIC}": {{as: diastolic, unit: "mm[Hg]"}}
"""


def pathway_text(body: str, *, pathway_id: str = "test", version: int = 1) -> str:
    """A whole pathway file: a fixed header and ``applies_to``, then ``body`` (YAML)."""
    head = f"pathway: {pathway_id}\ntitle: Test\nversion: {version}\n"
    return head + OBSERVATIONS + textwrap.dedent(body)


def make_pathway(body: str, **kwargs: object) -> triage.Pathway:
    """Load a test pathway (see :func:`pathway_text`)."""
    return triage.load_pathway_text(pathway_text(body, **kwargs))  # type: ignore[arg-type]


def hours_before(hours: float, end: dt.datetime = NOW) -> dt.datetime:
    return end - dt.timedelta(hours=hours)


def reading(name: str, value: float, time: dt.datetime, unit: str = "kg") -> triage.Reading:
    return triage.Reading(name, value, unit, time)


def reason_texts(result: triage.Result) -> list[str]:
    return [reason.text for reason in result.reasons]


def system_reasons(result: triage.Result) -> list[triage.Reason]:
    """Reasons that are not fired rules: missing data, errors, units, future readings."""
    return [reason for reason in result.reasons if reason.kind != "rule"]
