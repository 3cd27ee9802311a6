"""A patient's active enrolments, as the judging reads them."""

from __future__ import annotations

from sqlmodel import Session, select

from store.models import Enrolment

__all__ = ["active_enrolments"]


def active_enrolments(session: Session, patient_id: str) -> dict[str, Enrolment]:
    return {
        e.pathway_id: e
        for e in session.exec(
            select(Enrolment).where(
                Enrolment.patient_id == patient_id,
                Enrolment.active == True,  # noqa: E712 (SQL, not Python)
            )
        )
    }
