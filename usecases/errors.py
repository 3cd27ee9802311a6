"""Why a use case refuses, in its own terms; ``api/`` turns each reason into an HTTP status.

A refusal of FHIR input carries FHIR issues (what and where, for the OperationOutcome) and
one :class:`Why`. Nothing here knows HTTP: the same refusal inside a batch Bundle becomes an
entry's ``response.status``, and alone it becomes the response's status.

The clinicians' use cases (worklist, patients, enrolments, pathways) refuse in plain words
instead: a :class:`Declined` (:class:`NotFound`, :class:`Forbidden`, :class:`Conflict`,
:class:`Invalid`, :class:`Unprocessable`) with the text a person reads and, when there are
several things wrong, the list of ``problems``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import ClassVar

from fhir_adapters import FhirInputError, OutcomeIssue

__all__ = [
    "Conflict",
    "Declined",
    "Forbidden",
    "Invalid",
    "NotFound",
    "Refused",
    "Unprocessable",
    "Why",
    "why_of",
]


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


class Declined(Exception):
    """A use case said no: ``text`` for a person, ``problems`` when several things are wrong
    (each for a person too); the subclass says why."""

    why: ClassVar[Why] = Why.INVALID

    def __init__(self, text: str, problems: list[str] | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.problems = problems


class Invalid(Declined):
    """The request names something in a form this service never gave out."""

    why = Why.INVALID


class Forbidden(Declined):
    """The caller may not do this: a pathway or a patient not granted to them."""

    why = Why.FORBIDDEN

    def __init__(self, text: str = "not allowed for this token") -> None:
        super().__init__(text)


class NotFound(Declined):
    """What the request names does not exist."""

    why = Why.NOT_FOUND


class Conflict(Declined):
    """What the request asks for does not fit the state it finds (resolving a resolved item,
    a pathway version that is not above the one in force)."""

    why = Why.CONFLICT


class Unprocessable(Declined):
    """Well-formed, but the content cannot be accepted (thresholds out of range)."""

    why = Why.UNPROCESSABLE
