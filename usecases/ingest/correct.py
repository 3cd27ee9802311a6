"""Corrections: ``PUT /fhir/{type}/{id}`` and ``PUT /fhir/{type}?identifier=SYSTEM|VALUE``.

A correction stores a new version of a resource that keeps its id: ``meta.versionId``
counts up, the version it replaces moves to ``ResourceVersion`` (``_history`` shows every
one), the readings of an Observation are replaced by the new version's, and an outbox row
asks the worker to judge the new version as of its own time, in the same transaction. A
version with status ``entered-in-error`` (a ``cancelled`` Observation too) withdraws the
data: its readings are removed and no later evaluation uses it; the worker notes the
withdrawal on the worklist, where the item's level never falls by itself.

Refused (nothing stored): a correction that moves the data to another patient or changes
its identifier (422: withdraw it and post it anew), an ``If-Match`` version that is not the
current one (412), a body whose ``id`` is not the URL's (400), a PUT by id of a resource
that does not exist (404: create with POST). A conditional PUT whose identifier matches
nothing creates the resource, as a POST would (201). The same content again is answered
with the current version and stores nothing (an app sending its correction twice).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, select

from runtime import clock
from store.db import session_scope
from store.models import Reading, Resource, ResourceVersion
from usecases.access import Actor, staff_patient
from usecases.errors import Refused, Why
from usecases.ingest.checks import Context
from usecases.ingest.prepare import Caller, Entry, prepare, query_key
from usecases.ingest.upload import (
    content,
    dispatch_after_commit,
    new_outbox,
    reading_rows,
    store_entries,
)

__all__ = ["CORRECTABLE", "Corrected", "correct"]

CORRECTABLE = ("QuestionnaireResponse", "Observation", "Questionnaire")
TRIAGED = ("QuestionnaireResponse", "Observation")
_WEAK_TAG = re.compile(r'\s*(?:W/)?"?(\d+)"?\s*')


@dataclass(frozen=True)
class Corrected:
    """What a PUT stored: the entry (``body`` the current version), whether the PUT
    created the resource (a conditional PUT naming an identifier not stored yet), and the
    version now current."""

    entry: Entry
    created: bool
    version: int


def correct(
    raw: dict[str, Any],
    rtype: str,
    caller: Caller,
    *,
    resource_id: str | None = None,
    identifier: str | None = None,
    if_match: str | None = None,
    request_id: str | None = None,
    actor: Actor | None = None,
) -> Corrected:
    """Store ``raw`` as the next version of the resource named by id or by identifier.

    Staff (``actor``) correct only patients of their pathways: the stored resource's
    patient is checked before anything is changed. One
    transaction; the new version's outbox row goes to the worker once it is committed."""
    with session_scope() as session:
        done, outbox_id = _correct(
            session, raw, rtype, caller, resource_id, identifier, if_match, request_id, actor
        )
    if outbox_id is not None:
        dispatch_after_commit([outbox_id], request_id)
    return done


def _correct(
    session: Session,
    raw: dict[str, Any],
    rtype: str,
    caller: Caller,
    resource_id: str | None,
    identifier: str | None,
    if_match: str | None,
    request_id: str | None,
    actor: Actor | None,
) -> tuple[Corrected, int | None]:
    if rtype not in CORRECTABLE:
        text = f"{rtype} cannot be corrected here; PUT takes {', '.join(CORRECTABLE)}"
        raise Refused.one(Why.NOT_ALLOWED, "not-supported", text)
    if raw.get("resourceType") != rtype:
        text = f"the body is a {raw.get('resourceType')}, the URL says {rtype}"
        raise Refused.one(Why.INVALID, "invalid", text, "resourceType")
    if resource_id is not None and raw.get("id") not in (None, resource_id):
        text = f"the body's id {raw.get('id')!r} is not the id in the URL ({resource_id})"
        raise Refused.one(Why.INVALID, "invalid", text, f"{rtype}.id")
    key = None
    if identifier is not None:
        key = query_key(f"identifier={identifier}")
    body = {k: v for k, v in raw.items() if k != "id"}
    entry = prepare(Context(session), body, rtype, caller)
    if key is not None and entry.dedup_key != key:
        text = f"the body must carry the identifier of the search ({identifier})"
        raise Refused.one(Why.INVALID, "invalid", text, f"{rtype}.identifier")
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")
    existing = _locked(session, rtype, resource_id, key)
    if existing is None:
        if resource_id is not None:
            text = f"{rtype}/{resource_id} does not exist; create it with POST /fhir/{rtype}"
            raise Refused.one(Why.NOT_FOUND, "not-found", text)
        return _create(session, entry, request_id)
    if actor is not None and actor.is_staff and existing.patient_id is not None:
        staff_patient(session, actor, existing.patient_id)  # only patients of their pathways
    _check(existing, entry, caller, if_match)
    if content(existing.body) == content(entry.body):
        entry.id, entry.body, entry.created = existing.id, existing.body, False
        return Corrected(entry, False, existing.version_id), None
    outbox_id = _new_version(session, existing, entry, request_id)
    entry.id, entry.body, entry.created = existing.id, existing.body, False
    return Corrected(entry, False, existing.version_id), outbox_id


def _locked(
    session: Session, rtype: str, resource_id: str | None, key: str | None
) -> Resource | None:
    query = select(Resource).where(Resource.resource_type == rtype)
    if resource_id is not None:
        query = query.where(Resource.id == resource_id)
    else:
        query = query.where(Resource.dedup_key == key)
    return session.exec(query.with_for_update()).first()


def _create(session: Session, entry: Entry, request_id: str | None) -> tuple[Corrected, int | None]:
    outbox_ids = store_entries(session, [entry], request_id)
    if entry.refusal is not None:  # created by someone else a moment ago, with other content
        raise entry.refusal
    return Corrected(entry, entry.created, 1), (outbox_ids[0] if outbox_ids else None)


def _check(existing: Resource, entry: Entry, caller: Caller, if_match: str | None) -> None:
    rtype = existing.resource_type
    if caller.patient_id is not None and existing.patient_id != caller.patient_id:
        raise Refused.one(Why.FORBIDDEN, "forbidden", "a patient may correct only their own data")
    if existing.patient_id != entry.patient_id:
        raise Refused.one(
            Why.UNPROCESSABLE,
            "invariant",
            "a correction cannot move data to another patient: mark this one entered-in-error "
            "and post the data for the right patient",
            f"{rtype}.subject",
        )
    if existing.dedup_key != entry.dedup_key:
        raise Refused.one(
            Why.UNPROCESSABLE,
            "invariant",
            "a correction keeps the identifier of what it corrects "
            f"({_shown_key(existing.dedup_key)})",
            f"{rtype}.identifier",
        )
    if if_match is not None:
        match = _WEAK_TAG.fullmatch(if_match)
        if match is None or int(match.group(1)) != existing.version_id:
            raise Refused.one(
                Why.STALE,
                "conflict",
                f'If-Match {if_match} is not the current version (W/"{existing.version_id}"): '
                "read the resource again and correct that version",
            )


def _shown_key(key: str | None) -> str:
    return key.removeprefix("identifier=") if key else "none"


def _new_version(
    session: Session, existing: Resource, entry: Entry, request_id: str | None
) -> int | None:
    now = clock.now()
    session.add(
        ResourceVersion(
            resource_id=existing.id,
            version_id=existing.version_id,
            body=existing.body,
            data_time=existing.data_time,
            received_at=existing.received_at,
            withdrawn=existing.withdrawn,
            replaced_at=now,
        )
    )
    version = existing.version_id + 1
    meta = {**(entry.body.get("meta") or {}), "versionId": str(version)}
    meta["lastUpdated"] = now.isoformat()
    existing.body = {**entry.body, "id": existing.id, "meta": meta}
    existing.version_id = version
    existing.data_time = entry.data_time
    existing.canonical_url = entry.canonical_url
    existing.withdrawn = entry.withdrawn
    existing.received_at = now
    outbox_id = None
    if existing.resource_type in TRIAGED and existing.patient_id is not None:
        existing.routed = None
        session.execute(delete(Reading).where(Reading.resource_id == existing.id))  # type: ignore[arg-type]
        outbox_id = new_outbox(session, existing.patient_id, [existing.id], request_id)
        existing.outbox_id = outbox_id
        entry.id = existing.id
        rows = reading_rows([entry], existing.patient_id)
        if rows:
            session.execute(Reading.__table__.insert(), rows)  # type: ignore[attr-defined]
    session.add(existing)
    session.flush()
    return outbox_id
