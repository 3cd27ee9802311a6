"""Parse and validate FHIR R4 JSON into ``fhir.resources.R4B`` models.

Three layers, each refusing with a :class:`~fhir_adapters.outcome.FhirInputError`:

1. :func:`parse_json`: bytes or text to a JSON object with ``pydantic_core.from_json``
   (refuses absurd nesting, ``NaN``/``Infinity``, numbers too large for a float, text
   with control characters and an element named twice in one object).
2. A check of the raw JSON guided by the model's fields: every integer, decimal and boolean
   element must be a JSON number / ``true``/``false`` (the models would take ``"107"``,
   ``true`` as an integer, ``1`` as a boolean), every complex element a JSON object (the
   models would parse a string holding JSON), and every nested ``resourceType`` known.
3. Validation by the R4B model, its errors turned into plain-word issues with locations.
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias, overload

import pydantic
import pydantic_core
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from fhir_adapters.checks import (
    MAX_ISSUES,
    check_codes,
    check_raw,
    covered,
    first_duplicate_key,
    first_unstorable,
    resource_class,
    validation_issues,
)
from fhir_adapters.outcome import FhirInputError, OutcomeIssue

__all__ = ["SUPPORTED_TYPES", "FhirResource", "parse_json", "parse_resource", "warm_up"]

FhirResource: TypeAlias = QuestionnaireResponse | Observation | Patient | Questionnaire | Bundle

_MODELS: dict[str, type[FhirResource]] = {
    "QuestionnaireResponse": QuestionnaireResponse,
    "Observation": Observation,
    "Patient": Patient,
    "Questionnaire": Questionnaire,
    "Bundle": Bundle,
}
SUPPORTED_TYPES: tuple[str, ...] = tuple(_MODELS)
_BOM = "\ufeff"


def parse_json(body: bytes | str) -> dict[str, Any]:
    """Parse a request body into a JSON object; refuse anything else with code ``structure``."""
    if isinstance(body, bytes) and body.startswith(_BOM.encode()):
        body = body[3:]
    elif isinstance(body, str) and body.startswith(_BOM):
        body = body[1:]
    try:
        data = pydantic_core.from_json(body, allow_inf_nan=False)
    except ValueError as exc:  # message is the parser's own: "... at line 1 column 7"
        raise FhirInputError.single("structure", f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise FhirInputError.single("structure", "the body must be a JSON object (a resource)")
    root = data.get("resourceType") if isinstance(data.get("resourceType"), str) else ""
    bad = first_unstorable(data, str(root)) or first_duplicate_key(body, str(root))
    if bad is not None:
        location, problem = bad
        raise FhirInputError.single("structure", problem, location)
    return data


@overload
def parse_resource(
    data: dict[str, Any] | bytes | str, expected: Literal["QuestionnaireResponse"]
) -> QuestionnaireResponse: ...
@overload
def parse_resource(
    data: dict[str, Any] | bytes | str, expected: Literal["Observation"]
) -> Observation: ...
@overload
def parse_resource(
    data: dict[str, Any] | bytes | str, expected: str | None = None
) -> FhirResource: ...
def parse_resource(data: dict[str, Any] | bytes | str, expected: str | None = None) -> FhirResource:
    """Validate one resource of a supported type (``expected``, if given, must match)."""
    raw = data if isinstance(data, dict) else parse_json(data)
    rtype = raw.get("resourceType")
    if rtype is None:
        raise FhirInputError.single("required", "resourceType is missing", "resourceType")
    if not isinstance(rtype, str) or rtype not in _MODELS:
        known = isinstance(rtype, str) and resource_class(rtype) is not None
        accepted = ", ".join(SUPPORTED_TYPES)
        what = f"{rtype} resources are not accepted here" if known else "unknown resource type"
        raise FhirInputError.single(
            "not-supported" if known else "invalid", f"{what}; accepted: {accepted}", "resourceType"
        )
    if expected is not None and rtype != expected:
        raise FhirInputError.single("invalid", f"expected {expected}, got {rtype}", "resourceType")
    model = _MODELS[rtype]
    issues = check_raw(raw, model, rtype) + check_codes(raw, rtype)
    try:
        resource = model.model_validate(raw)
    except pydantic.ValidationError as exc:
        issues += [i for i in validation_issues(exc, rtype) if not covered(i, issues)]
    except Exception:  # fhir.resources raises KeyError & co. on some malformed input
        if not issues:
            issues.append(OutcomeIssue("error", "processing", "the resource is malformed", rtype))
    if issues:
        raise FhirInputError(issues[:MAX_ISSUES])
    return resource


def warm_up() -> None:
    """Build each model class once (the first validation of a class costs 4-40 ms)."""
    samples: list[dict[str, Any]] = [
        {
            "resourceType": "QuestionnaireResponse",
            "status": "completed",
            "authored": "2026-01-01T00:00:00+01:00",
            "item": [{"linkId": "a", "answer": [{"valueInteger": 1, "item": [{"linkId": "b"}]}]}],
        },
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
            "effectiveDateTime": "2026-01-01T00:00:00+01:00",
            "component": [{"code": {"text": "x"}, "valueQuantity": {"value": 1, "unit": "kg"}}],
        },
        {"resourceType": "Patient", "identifier": [{"system": "urn:x", "value": "1"}]},
        {
            "resourceType": "Questionnaire",
            "status": "active",
            "item": [{"linkId": "a", "type": "integer"}],
        },
        {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [{"request": {"method": "GET", "url": "Patient"}}],
        },
    ]
    for sample in samples:
        parse_resource(sample)
