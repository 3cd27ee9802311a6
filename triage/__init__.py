"""The pathway rule engine: pure Python, no web, database, queue or FHIR libraries.

Load a pathway file, evaluate a patient's answers and readings with it, and get a
traceable traffic-light result::

    pathway = load_pathway("rules/epilepsy.yaml")
    result = evaluate(pathway, answers={"seizure-count": 4}, thresholds={"seizures_red": 2})
    result.level, result.reasons, result.patient_message, result.undecided

Many uploads of one patient, each judged as of its own time (RULES.md "When")::

    prepared = prepare(pathway, measurements=measurements)   # routed and sorted once
    results = [evaluate_at(pathway, prepared, as_of=m.time) for m in new_measurements]

Exceptions:

- ``PathwayError``: a pathway file that cannot be used; ``.problems`` lists each
  ``Problem`` (file, line, column, message in ``nb`` or ``en``).
- ``ThresholdError`` (a ``ValueError``): per-patient thresholds the pathway does not allow.
- ``UnitError`` (a ``ValueError``): a unit that is unknown or cannot be converted.
- ``DurationError`` (a ``ValueError``): text that is not an ISO 8601 duration.

Evaluation itself does not raise for bad data: it turns it into a yellow reason.
"""

from triage.durations import Duration, DurationError, parse_duration
from triage.engine import evaluate, evaluate_at
from triage.explain import explain
from triage.levels import Consultation, Level
from triage.loading import check_pathway_file, load_pathway, load_pathway_bytes, load_pathway_text
from triage.model import Action, Pathway
from triage.prepared import Prepared, prepare
from triage.problems import PathwayError, Problem
from triage.readings import Measurement, Reading
from triage.result import Reason, Result, Undecided
from triage.testing import TestOutcome, run_pathway_tests
from triage.thresholds import ThresholdError, check_patient_thresholds
from triage.units import UnitError, convert

__all__ = [
    "Action",
    "Consultation",
    "Duration",
    "DurationError",
    "Level",
    "Measurement",
    "Pathway",
    "PathwayError",
    "Prepared",
    "Problem",
    "Reading",
    "Reason",
    "Result",
    "TestOutcome",
    "ThresholdError",
    "Undecided",
    "UnitError",
    "check_pathway_file",
    "check_patient_thresholds",
    "convert",
    "evaluate",
    "evaluate_at",
    "explain",
    "load_pathway",
    "load_pathway_bytes",
    "load_pathway_text",
    "parse_duration",
    "prepare",
    "run_pathway_tests",
]
