"""Reading FHIR resources back: a resource by id, one of its versions, its history a page
at a time, Patients by identifier and Questionnaires by url.

Who may read what is decided here: a patient reads only their own data (anything else is
refused as forbidden, whether it exists or not); staff read answers and readings only of
patients in a pathway granted to them, and every read of patient data by staff is recorded
as an ``AuditEvent`` in the same unit of work (:func:`store.db.session_scope`) as the read.
Refusals are :class:`usecases.errors.Refused`; ``api/`` renders what is found as FHIR JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from store.db import session_scope
from store.models import (
    Patient,
    Resource,
    ResourceVersion,
)
from usecases.access import Actor, audit, staff_patient
from usecases.errors import Refused, Why

__all__ = [
    "HISTORY_MAX",
    "HISTORY_PAGE",
    "READABLE",
    "SEARCH_LIMIT",
    "Current",
    "HistoryPage",
    "history",
    "read",
    "read_patient",
    "search_patients",
    "search_questionnaires",
    "version_of",
    "vread",
]

READABLE = ("QuestionnaireResponse", "Observation", "Questionnaire")
SEARCH_LIMIT = 100
HISTORY_PAGE = 50  # versions on a page of _history unless _count says otherwise
HISTORY_MAX = 100  # the largest _count
NOT_ALLOWED = "not allowed for this token"


@dataclass(frozen=True)
class Current:
    """A resource's current version and its version id."""

    body: dict[str, Any]
    version_id: str


@dataclass(frozen=True)
class HistoryPage:
    """One page of a resource's versions, newest first, and whether pages lie either side."""

    total: int
    versions: list[dict[str, Any]]
    has_next: bool
    has_previous: bool


def _forbidden(text: str = NOT_ALLOWED) -> Refused:
    return Refused.one(Why.FORBIDDEN, "forbidden", text)


def _not_found(text: str) -> Refused:
    return Refused.one(Why.NOT_FOUND, "not-found", text)


def search_patients(reader: Actor, identifier: str) -> list[dict[str, Any]]:
    """Patients by identifier ``SYSTEM|VALUE`` (or a bare value), for staff; each audited."""
    if not reader.is_staff:
        raise _forbidden()
    system, bar, value = identifier.rpartition("|")
    query = select(Patient).where(Patient.identifier_value == value)
    if bar and system:
        query = query.where(Patient.identifier_system == system)
    with session_scope() as session:
        rows = list(session.exec(query.limit(SEARCH_LIMIT)))
        for row in rows:
            audit(session, reader, "search", row.id, f"Patient/{row.id}")
        return [row.resource for row in rows]


def read_patient(reader: Actor, patient_id: str) -> dict[str, Any]:
    """A Patient by id: a patient only their own; staff reads are audited."""
    if not reader.is_staff and reader.patient_id != patient_id:
        raise _forbidden()
    with session_scope() as session:
        row = session.get(Patient, patient_id)
        if row is None:
            raise _not_found(f"Patient/{patient_id} is not known")
        if reader.is_staff:
            audit(session, reader, "read", row.id, f"Patient/{row.id}")
        return row.resource


def search_questionnaires(url: str | None) -> list[dict[str, Any]]:
    """Questionnaires by canonical url (``url|version`` narrows to one version), oldest
    first; every caller may read them."""
    query = select(Resource).where(Resource.resource_type == "Questionnaire")
    version = None
    if url:
        url, _, version = url.partition("|")
        query = query.where(Resource.canonical_url == url)
    query = query.order_by(col(Resource.received_at)).limit(SEARCH_LIMIT)
    with session_scope() as session:
        rows = session.exec(query)
        return [r.body for r in rows if not version or r.body.get("version") == version]


def _readable(session: Session, reader: Actor, rtype: str, resource_id: str) -> Resource:
    """The stored resource if this reader may read it, else refused."""
    row = session.get(Resource, resource_id)
    if row is not None and row.resource_type != rtype:
        row = None
    patient_may_not = row is None or row.patient_id != reader.patient_id
    if not reader.is_staff and rtype != "Questionnaire" and patient_may_not:
        raise _forbidden()
    if row is None:
        raise _not_found(f"{rtype}/{resource_id} is not known")
    if reader.is_staff and row.patient_id:
        staff_patient(session, reader, row.patient_id)
    return row


def _known_type(rtype: str) -> None:
    if rtype not in READABLE:
        raise _not_found(f"{rtype} is not a type this server reads")


def _versions(session: Session, row: Resource) -> list[dict[str, Any]]:
    """Every version's body, the current one first."""
    earlier = session.exec(
        select(ResourceVersion.body)
        .where(ResourceVersion.resource_id == row.id)
        .order_by(col(ResourceVersion.version_id).desc())
    ).all()
    return [row.body, *(dict(body) for body in earlier)]


def version_of(body: dict[str, Any]) -> str:
    """The version id a stored body carries (``1`` when it names none)."""
    return str((body.get("meta") or {}).get("versionId") or "1")


def read(reader: Actor, rtype: str, resource_id: str) -> Current:
    """A stored resource's current version: a patient only their own; staff reads of
    patient data are audited."""
    _known_type(rtype)
    with session_scope() as session:
        row = _readable(session, reader, rtype, resource_id)
        if reader.is_staff and row.patient_id:
            audit(session, reader, "read", row.patient_id, f"{rtype}/{row.id}")
        return Current(row.body, str(row.version_id))


def vread(reader: Actor, rtype: str, resource_id: str, version_id: str) -> dict[str, Any]:
    """One version of a resource, by its version id."""
    _known_type(rtype)
    with session_scope() as session:
        row = _readable(session, reader, rtype, resource_id)
        found = [b for b in _versions(session, row) if version_of(b) == version_id]
        if not found:
            raise _not_found(f"{rtype}/{resource_id} has no version {version_id}")
        if reader.is_staff and row.patient_id:
            target = f"{rtype}/{row.id}/_history/{version_id}"
            audit(session, reader, "read", row.patient_id, target)
        return found[0]


def history(
    reader: Actor, rtype: str, resource_id: str, count: int = HISTORY_PAGE, page: int = 1
) -> HistoryPage:
    """Page ``page`` (from 1) of ``count`` versions of a resource, newest first."""
    _known_type(rtype)
    with session_scope() as session:
        row = _readable(session, reader, rtype, resource_id)
        versions = _versions(session, row)
        if reader.is_staff and row.patient_id:
            audit(session, reader, "history", row.patient_id, f"{rtype}/{row.id}")
        return HistoryPage(
            total=len(versions),
            versions=versions[(page - 1) * count : page * count],
            has_next=page * count < len(versions),
            has_previous=page > 1,
        )
