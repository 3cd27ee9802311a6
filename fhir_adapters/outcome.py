"""Structured FHIR errors: :class:`OutcomeIssue`, :class:`FhirInputError` and OperationOutcome.

Every refusal of FHIR input in this package is a :class:`FhirInputError` whose issues say
what is wrong (in plain words) and where (a FHIRPath-like location such as
``QuestionnaireResponse.item[2].answer[0].valueInteger``). Callers turn it into an
``OperationOutcome`` with :meth:`FhirInputError.to_operation_outcome`; no stack trace or
Python class name ever reaches the sender.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ISSUE_CODES",
    "ISSUE_SEVERITIES",
    "FhirInputError",
    "OutcomeIssue",
    "operation_outcome",
]

ISSUE_SEVERITIES: frozenset[str] = frozenset({"fatal", "error", "warning", "information"})

# The FHIR R4 IssueType value set (http://hl7.org/fhir/issue-type).
ISSUE_CODES: frozenset[str] = frozenset(
    {
        "invalid",
        "structure",
        "required",
        "value",
        "invariant",
        "security",
        "login",
        "unknown",
        "expired",
        "forbidden",
        "suppressed",
        "processing",
        "not-supported",
        "duplicate",
        "multiple-matches",
        "not-found",
        "deleted",
        "too-long",
        "code-invalid",
        "extension",
        "too-costly",
        "business-rule",
        "conflict",
        "transient",
        "lock-error",
        "no-store",
        "exception",
        "timeout",
        "incomplete",
        "throttled",
        "informational",
    }
)


@dataclass(frozen=True, slots=True)
class OutcomeIssue:
    """One issue: ``severity`` and ``code`` from the FHIR value sets, plain-word
    ``diagnostics``, and a FHIRPath-like ``location`` ("" when it concerns the whole body)."""

    severity: str
    code: str
    diagnostics: str
    location: str = ""

    def __post_init__(self) -> None:
        if self.severity not in ISSUE_SEVERITIES:
            raise ValueError(f"unknown issue severity {self.severity!r}")
        if self.code not in ISSUE_CODES:
            raise ValueError(f"unknown issue type code {self.code!r}")

    def to_fhir(self) -> dict[str, Any]:
        """This issue as an ``OperationOutcome.issue`` JSON object."""
        issue: dict[str, Any] = {
            "severity": self.severity,
            "code": self.code,
            "diagnostics": self.diagnostics,
        }
        if self.location:
            issue["expression"] = [self.location]
            issue["location"] = [self.location]
        return issue


def operation_outcome(issues: Iterable[OutcomeIssue]) -> dict[str, Any]:
    """A FHIR R4 ``OperationOutcome`` JSON object with the given issues (at least one)."""
    items = [issue.to_fhir() for issue in issues]
    if not items:  # OperationOutcome.issue is 1..*
        items = [{"severity": "information", "code": "informational", "diagnostics": "ok"}]
    return {"resourceType": "OperationOutcome", "issue": items}


class FhirInputError(ValueError):
    """FHIR input that is refused; ``issues`` (never empty) say what and where.

    ``str(error)`` joins the issues as ``"location: diagnostics"``, for logs.
    """

    issues: list[OutcomeIssue]

    def __init__(self, issues: Iterable[OutcomeIssue]) -> None:
        self.issues = list(issues)
        if not self.issues:
            self.issues = [OutcomeIssue("error", "invalid", "the input was refused", "")]
        super().__init__(
            "; ".join(
                f"{i.location}: {i.diagnostics}" if i.location else i.diagnostics
                for i in self.issues
            )
        )

    @classmethod
    def single(cls, code: str, diagnostics: str, location: str = "") -> FhirInputError:
        """An error with one issue of severity ``error``."""
        return cls([OutcomeIssue("error", code, diagnostics, location)])

    def to_operation_outcome(self) -> dict[str, Any]:
        """The issues as a FHIR R4 ``OperationOutcome`` JSON object."""
        return operation_outcome(self.issues)
