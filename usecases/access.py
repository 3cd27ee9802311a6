"""Who may see what, and the audit of every clinician read or change of patient data.

A clinician (or author) is granted pathways by their token (``*``: every pathway), and sees
a patient when the patient is in one of them: enrolled, on a worklist, or triaged by it. A
refusal never says whether another patient exists. The caller is an :class:`Actor`, what
``api/`` makes of a verified token (``api.auth.Principal`` is one).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, TypeVar

from sqlmodel import Session, select

from store.models import AuditEvent, Enrolment, Patient, TriageResult, WorklistItem
from usecases.errors import Forbidden, NotFound

__all__ = [
    "Actor",
    "audit",
    "granted",
    "patient_pathways",
    "require_pathway",
    "staff_patient",
]


class Actor(Protocol):
    """The verified caller of a use case."""

    @property
    def subject(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def patient_id(self) -> str | None: ...

    @property
    def pathways(self) -> frozenset[str]: ...

    @property
    def is_staff(self) -> bool: ...

    def may_see_pathway(self, pathway_id: str, /) -> bool: ...


class _InPathway(Protocol):
    @property
    def pathway_id(self) -> str: ...


Row = TypeVar("Row", bound=_InPathway)


def require_pathway(actor: Actor, pathway_id: str) -> None:
    """Refuse unless ``pathway_id`` is granted to the caller."""
    if not actor.may_see_pathway(pathway_id):
        raise Forbidden(f"pathway {pathway_id!r} is not granted to this token")


def granted(actor: Actor, rows: Iterable[Row]) -> list[Row]:
    """The rows of the pathways granted to the caller."""
    return [row for row in rows if actor.may_see_pathway(row.pathway_id)]


def patient_pathways(session: Session, patient_id: str) -> set[str]:
    """Every pathway a patient is in: enrolled, on a worklist, or triaged by."""
    found: set[str] = set()
    for model in (Enrolment, WorklistItem, TriageResult):
        query = select(model.pathway_id).where(model.patient_id == patient_id).distinct()
        found.update(session.exec(query))
    return found


def staff_patient(session: Session, actor: Actor, patient_id: str) -> Patient:
    """The patient, if this clinician is granted one of the patient's pathways (or ``*``)."""
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise NotFound("no such patient")
    if "*" in actor.pathways:
        return patient
    if not actor.pathways & patient_pathways(session, patient_id):
        raise Forbidden("this patient is in none of the pathways granted to this token")
    return patient


def audit(
    session: Session,
    actor: Actor,
    action: str,
    patient_id: str | None,
    target: str | None = None,
    **detail: Any,
) -> None:
    """Record who read or changed which patient's data (committed with the use case)."""
    session.add(
        AuditEvent(
            actor=actor.subject,
            role=actor.role,
            action=action,
            patient_id=patient_id,
            target=target,
            detail=detail,
        )
    )
