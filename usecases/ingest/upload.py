"""Accepting FHIR input: validate, then store resources, readings and the outbox row in ONE
transaction, and hand the outbox to the worker only after it committed.

- The same resource twice is stored once: the UNIQUE constraints on
  Resource(resource_type, dedup_key) and Patient(identifier_system, identifier_value) refuse
  the second insert (``ON CONFLICT DO NOTHING`` for resources; for patients the
  IntegrityError is caught inside a SAVEPOINT) and the first row is answered (``created``
  False -> ``200``). Never a search before the insert.
- One Outbox row per request and patient, naming the QuestionnaireResponses and
  Observations it accepted (a Bundle of 100 readings for one patient is one row).
- A ``transaction`` Bundle is all or nothing; a ``batch`` Bundle stores each entry on its
  own, each entry in its own SAVEPOINT. Entries of a transaction may reference a Patient
  entry by its ``fullUrl`` (``urn:uuid:...``); the reference is rewritten to the stored id.
- On SQLite the write starts with ``BEGIN IMMEDIATE``: writers queue for the lock at once
  (instead of failing on a stale read snapshot), and a SAVEPOINT is never the outermost
  transaction (pysqlite would commit it on RELEASE).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from messaging.dispatch import dispatch_soon
from runtime import clock
from store.db import session_scope
from store.models import Outbox, Patient, Reading, Resource, ResourceVersion
from usecases.errors import Refused, Why
from usecases.ingest.checks import Context
from usecases.ingest.prepare import Caller, Entry, prepare

__all__ = ["Caller", "Entry", "Refused", "dispatch_after_commit", "ingest", "store_entries"]

log = logging.getLogger(__name__)
OUTBOXED = ("QuestionnaireResponse", "Observation")


def ingest(
    raw: dict[str, Any],
    expected: str,
    caller: Caller,
    if_none_exist: str | None = None,
    request_id: str | None = None,
) -> Entry:
    """Store one resource (``entry.created`` False: the same one was stored before), in
    one transaction with its outbox row, and hand the row to the worker once committed."""
    with session_scope() as session:
        entry = prepare(Context(session), raw, expected, caller, if_none_exist)
        outbox_ids = store_entries(session, [entry], request_id)
        if entry.refusal is not None:
            raise entry.refusal  # rolled back: nothing of it is stored
    dispatch_after_commit(outbox_ids, request_id)
    return entry


def store_entries(session: Session, entries: list[Entry], request_id: str | None) -> list[int]:
    """Write prepared entries (not committed); return the new outbox ids. Patients first,
    so that entries referencing one by ``urn:uuid`` get its stored id."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")
    by_url = _store_patients(session, entries)
    groups = _uploads_by_patient(session, entries, by_url)
    outbox_ids: list[int] = []
    readings: list[dict[str, Any]] = []
    for patient_id, group in groups.items():
        outbox_id = _store_group(session, patient_id, group, request_id)
        if outbox_id is not None:
            outbox_ids.append(outbox_id)
            readings += reading_rows(
                [e for e in group if e.created and e.refusal is None], patient_id
            )
    if readings:
        session.execute(Reading.__table__.insert(), readings)  # type: ignore[attr-defined]
    session.flush()
    return outbox_ids


def _store_patients(session: Session, entries: list[Entry]) -> dict[str, str]:
    """Store the Patient entries; return their ids by the ``fullUrl`` they came with."""
    by_url: dict[str, str] = {}
    for entry in entries:
        if entry.rtype == "Patient":
            _store_patient(session, entry)
            if entry.full_url:
                by_url[entry.full_url] = entry.id
    return by_url


def _uploads_by_patient(
    session: Session, entries: list[Entry], by_url: dict[str, str]
) -> dict[str, list[Entry]]:
    """Point references to a Patient of the same Bundle at its stored id, store the
    Questionnaires, and group the uploads (responses, readings) by patient."""
    groups: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        if entry.patient_ref is not None:
            entry.patient_id = by_url[entry.patient_ref]
            reference = f"Patient/{entry.patient_id}"
            entry.body["subject"] = {**entry.body["subject"], "reference": reference}
        if entry.rtype == "Questionnaire":
            _store_resources(session, [entry])
        elif entry.rtype in OUTBOXED:
            groups[str(entry.patient_id)].append(entry)
    return groups


def _store_group(
    session: Session, patient_id: str, group: list[Entry], request_id: str | None
) -> int | None:
    """One patient's uploads and their outbox row; the row's id, or None when every upload
    was stored before (the row is removed again: nothing new to judge)."""
    # Core statements, not the ORM unit of work: this is the hot path of every upload.
    outbox_table = Outbox.__table__  # type: ignore[attr-defined]
    outbox_id = new_outbox(session, patient_id, [e.id for e in group], request_id)
    _store_resources(session, group, outbox_id)
    new = [e for e in group if e.created and e.refusal is None]
    if not new:
        session.execute(outbox_table.delete().where(outbox_table.c.id == outbox_id))
        return None
    if len(new) != len(group):
        session.execute(
            outbox_table.update()
            .where(outbox_table.c.id == outbox_id)
            .values(resource_ids=[e.id for e in new])
        )
    return outbox_id


def reading_rows(entries: list[Entry], patient_id: str) -> list[dict[str, Any]]:
    """The Reading rows of stored entries; data that is withdrawn gives none."""
    return [
        {
            "resource_id": e.id,
            "patient_id": patient_id,
            "code": m.code,
            "panel": m.panel,
            "value": m.value,
            "unit": m.unit,
            "time": m.time,
            "alt": {"codes": list(m.alt_codes), "panels": list(m.alt_panels)}
            if m.alt_codes or m.alt_panels
            else None,
        }
        for e in entries
        if not e.withdrawn
        for m in e.measurements
    ]


def new_outbox(
    session: Session, patient_id: str, resource_ids: list[str], request_id: str | None
) -> int:
    """An outbox row asking the worker to judge these uploads (not committed)."""
    row = {
        "patient_id": patient_id,
        "resource_ids": resource_ids,
        "request_id": request_id,
        "created": clock.now(),
    }
    outbox_id: int = session.execute(_NEW_OUTBOX, row).scalar_one()
    return outbox_id


_OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
# Built once, run with the row as parameters: every accepted upload runs it.
_NEW_OUTBOX = _OUTBOX.insert().returning(_OUTBOX.c.id)


def _store_patient(session: Session, entry: Entry) -> None:
    row = Patient(
        id=entry.id,
        identifier_system=entry.identifier[0] if entry.identifier else None,
        identifier_value=entry.identifier[1] if entry.identifier else None,
        name=entry.name,
        resource=entry.body,
    )
    if entry.identifier is None:
        session.add(row)
        return
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = session.exec(
            select(Patient).where(
                Patient.identifier_system == entry.identifier[0],
                Patient.identifier_value == entry.identifier[1],
            )
        ).first()
        if existing is None:
            raise
        entry.id, entry.body, entry.created = existing.id, existing.resource, False


def _row(entry: Entry, outbox_id: int | None) -> dict[str, Any]:
    return {
        "id": entry.id,
        "resource_type": entry.rtype,
        "patient_id": entry.patient_id,
        "dedup_key": entry.dedup_key,
        "canonical_url": entry.canonical_url,
        "body": entry.body,
        "data_time": entry.data_time,
        "received_at": clock.now(),
        "outbox_id": outbox_id,
        "withdrawn": entry.withdrawn,
    }


def _store_resources(session: Session, entries: list[Entry], outbox_id: int | None = None) -> None:
    """Insert the rows in one statement; a row whose (type, dedup_key) is already stored is
    skipped by the database (``ON CONFLICT DO NOTHING``) and answered with the first one.

    The UNIQUE constraint decides, in one round trip and without savepoints, also when the
    same resource arrives in parallel: the loser's insert waits for the winner's commit and
    then does nothing.
    """
    # The same key order in every request: two Bundles cannot deadlock on each other's keys.
    ordered = sorted(entries, key=lambda e: e.dedup_key or "")
    dialect = session.get_bind().dialect.name
    insert_for = pg_insert if dialect == "postgresql" else sqlite_insert
    table = Resource.__table__  # type: ignore[attr-defined]
    # The rows as parameters, not in the statement: one compiled form for every request (a
    # VALUES list inside the statement was compiled again on each POST, 7 % of the API's
    # CPU); SQLAlchemy still sends them as one INSERT ... RETURNING (insertmanyvalues).
    statement = (
        insert_for(table)
        .on_conflict_do_nothing(index_elements=["resource_type", "dedup_key"])
        .returning(table.c.id)
    )
    rows = [_row(e, outbox_id) for e in ordered]
    stored = set(session.execute(statement, rows).scalars())
    for entry in ordered:
        if entry.id not in stored:
            _answer_with_first(session, entry)


def _answer_with_first(session: Session, entry: Entry) -> None:
    existing = session.exec(
        select(Resource).where(
            Resource.resource_type == entry.rtype, Resource.dedup_key == entry.dedup_key
        )
    ).first()
    if existing is None:
        entry.refusal = Refused.one(Why.CONFLICT, "conflict", "could not be stored; send it again")
    elif existing.patient_id != entry.patient_id or not _sent_before(session, existing, entry.body):
        # An amendment sent as a new POST: answering 200 with the first body would drop it.
        # The same words when the identifier is another patient's: nothing is revealed.
        entry.refusal = Refused.one(
            Why.CONFLICT,
            "duplicate",
            f"this identifier is already used for different content: send a correction with "
            f"PUT /fhir/{entry.rtype}/{{id}} (or PUT /fhir/{entry.rtype}?identifier=SYSTEM|VALUE"
            "), or withdraw it the same way with status entered-in-error",
        )
    if existing is None or entry.refusal is not None:
        entry.created = False
        return
    entry.id, entry.body, entry.created = existing.id, existing.body, False


def content(body: Mapping[str, Any]) -> dict[str, Any]:
    """What a resource says, without what the server gives it (``id``, ``meta``)."""
    return {key: value for key, value in body.items() if key not in ("id", "meta")}


def _sent_before(session: Session, existing: Resource, body: dict[str, Any]) -> bool:
    """True when ``body`` says what the stored resource says now, or said in an earlier
    version: an app re-sending its first POST after a correction is a repeat, not a change."""
    wanted = content(body)
    if content(existing.body) == wanted:
        return True
    if existing.version_id == 1:
        return False
    earlier = session.exec(
        select(ResourceVersion.body).where(ResourceVersion.resource_id == existing.id)
    ).all()
    return any(content(old) == wanted for old in earlier)


def dispatch_after_commit(outbox_ids: list[int], request_id: str | None) -> None:
    """Hand the committed outbox rows to the worker; what cannot be sent is re-sent later."""
    if not outbox_ids:
        return
    try:
        dispatch_soon(outbox_ids, request_id)
    except Exception:  # the outbox keeps the work; the periodic re-send hands it over
        log.warning("could not dispatch %d outbox rows now", len(outbox_ids))
