"""Why a use case refuses, in its own terms; ``api/`` turns each reason into an HTTP status.

A refusal carries FHIR issues (what and where, for the OperationOutcome) and one
:class:`Why`. Nothing here knows HTTP: the same refusal inside a batch Bundle becomes an
entry's ``response.status``, and alone it becomes the response's status.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from fhir_adapters import FhirInputError, OutcomeIssue

__all__ = ["Refused", "Why", "why_of"]


class Why(enum.Enum):
    """The reason for a refusal."""

    INVALID = "invalid"  # not well-formed, or not a kind of input the service takes
    FORBIDDEN = "forbidden"  # the caller may not do this (another patient's record)
    NOT_FOUND = "not-found"  # what the request names does not exist
    NOT_ALLOWED = "not-allowed"  # this kind of resource is never changed this way
    CONFLICT = "conflict"  # the identifier is in use for other content; send it again
    STALE = "stale"  # If-Match names a version that is no longer the current one
    UNPROCESSABLE = "unprocessable"  # well-formed, but the content cannot be accepted


class Refused(FhirInputError):
    """Input refused, nothing stored: ``issues`` say what and where, ``why`` says why."""

    def __init__(self, issues: Iterable[OutcomeIssue], why: Why = Why.INVALID) -> None:
        super().__init__(issues)
        self.why = why

    @classmethod
    def one(cls, why: Why, code: str, text: str, where: str = "") -> Refused:
        return cls([OutcomeIssue("error", code, text, where)], why)


def why_of(exc: FhirInputError) -> Why:
    """A refusal's reason; FHIR that does not parse or validate is invalid input."""
    return exc.why if isinstance(exc, Refused) else Why.INVALID
