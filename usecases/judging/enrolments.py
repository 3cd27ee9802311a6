"""A patient's active enrolments, as the judging reads them."""

from __future__ import annotations

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from store.models import Enrolment, Patient

__all__ = ["active_enrolments", "lock_patient"]


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


def lock_patient(session: Session, patient_id: str) -> dict[str, Enrolment]:
    """Lock the patient for this job, and read their active enrolments in the same round trip.

    One job per patient at a time: without the lock, two jobs could both find no open item,
    or both hold an item's level from data the other has not seen. FOR NO KEY UPDATE (of the
    patient row only) does not block the API's inserts, whose foreign-key checks take KEY
    SHARE; SQLite serialises writers anyway."""
    rows = session.execute(_LOCK, {"patient_id": patient_id}).all()
    return {e.pathway_id: e for _, e in rows if e is not None}


_LOCK = (  # built once, run with the patient as a parameter
    select(Patient.id, Enrolment)
    .select_from(Patient)
    .outerjoin(
        Enrolment,
        (col(Enrolment.patient_id) == col(Patient.id)) & col(Enrolment.active).is_(True),
    )
    .where(col(Patient.id) == bindparam("patient_id"))
    .with_for_update(of=Patient, key_share=True)
)
