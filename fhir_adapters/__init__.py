"""FHIR R4 in and out for the triage engine.

Parse and validate (:func:`parse_json`, :func:`parse_resource` with the R4B models of
``fhir.resources``), flatten a QuestionnaireResponse to ``linkId -> value``
(:func:`flatten_response`), read an Observation as :class:`~triage.readings.Measurement`
values (:func:`observation_measurements`), refuse readings no body can show
(:func:`plausibility_problems`) and items answered more than once
(:func:`repeated_answers`), show the answers as the patient saw them
(:func:`answer_texts`), and report errors as OperationOutcome.

Exceptions raised to callers::

    ValueError
    └── FhirInputError        input refused; .issues: list[OutcomeIssue] (never empty),
                              .to_operation_outcome() -> OperationOutcome JSON dict

Nothing else escapes for bad input: JSON syntax, nesting, NaN, validation errors, unknown
units (``triage.units.UnitError``) and library failures all become a FhirInputError with
plain-word diagnostics and a FHIRPath-like location. Issue codes used: ``structure``
(not JSON, not an object, wrong JSON kind), ``required``, ``value``, ``invalid``,
``not-supported``, ``too-long``, ``processing``; warnings in
``ObservationData.not_readings`` use ``incomplete`` and ``informational``.
"""

from fhir_adapters.answer_texts import AnswerText, answer_texts
from fhir_adapters.observation import (
    ObservationData,
    observation_measurements,
    plausibility_problems,
    repeated_values,
)
from fhir_adapters.outcome import FhirInputError, OutcomeIssue, operation_outcome
from fhir_adapters.parse import SUPPORTED_TYPES, FhirResource, parse_json, parse_resource, warm_up
from fhir_adapters.questionnaire_check import repeated_answers
from fhir_adapters.questionnaire_response import (
    AnswerValue,
    FlatAnswer,
    answer_value,
    flatten_response,
    response_questionnaire_url,
    response_subject_reference,
)
from fhir_adapters.views import reference_id

__all__ = [
    "SUPPORTED_TYPES",
    "AnswerText",
    "AnswerValue",
    "FhirInputError",
    "FhirResource",
    "FlatAnswer",
    "ObservationData",
    "OutcomeIssue",
    "answer_texts",
    "answer_value",
    "flatten_response",
    "observation_measurements",
    "operation_outcome",
    "parse_json",
    "parse_resource",
    "plausibility_problems",
    "reference_id",
    "repeated_answers",
    "repeated_values",
    "response_questionnaire_url",
    "response_subject_reference",
    "warm_up",
]
