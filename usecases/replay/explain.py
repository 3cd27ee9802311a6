"""Why replaying a result's own pathway version did not give the stored result: what
changed in the patient's data after it was judged. Asked only for the uploads that were
not reproduced, which are few."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from store.models import Resource, ResourceVersion
from usecases.replay.source import Stored


def _what(resource_type: str, rid: str) -> str:
    return f"{resource_type}/{rid}"


def why_not_reproduced(session: Session, stored: Stored, replayed: dict[str, Any]) -> list[str]:
    """What happened to the data this result saw since it was made, in words; when nothing
    is found, the inputs that differ."""
    when = sa.func.coalesce(Resource.data_time, Resource.received_at)
    base = (
        col(Resource.patient_id) == stored.patient_id,
        when <= stored.as_of,
        col(Resource.resource_type).in_(("Observation", "QuestionnaireResponse")),
    )
    reasons: list[str] = []
    changed = session.exec(
        select(Resource.resource_type, Resource.id, Resource.withdrawn, ResourceVersion.replaced_at)
        .join(ResourceVersion, col(ResourceVersion.resource_id) == col(Resource.id))
        .where(*base, col(ResourceVersion.replaced_at) > stored.created)
        .order_by(col(ResourceVersion.replaced_at))
    ).all()
    seen: set[str] = set()
    for kind, rid, withdrawn, replaced in changed:
        if rid in seen:
            continue
        seen.add(rid)
        verb = "withdrawn" if withdrawn else "corrected"
        reasons.append(f"{_what(kind, rid)} was {verb} at {_iso(replaced)}, after this was judged")
    late = session.exec(
        select(Resource.resource_type, Resource.id, Resource.received_at)
        .where(
            *base,
            col(Resource.received_at) > stored.created,
            col(Resource.id) != stored.resource_id,
        )
        .order_by(col(Resource.received_at))
        .limit(20)
    ).all()
    for kind, rid, received in late:
        reasons.append(
            f"{_what(kind, rid)}, dated before this upload, arrived at {_iso(received)}, "
            "after this was judged"
        )
    if stored.record.get("enrolled") is not False and any(
        r.get("kind") == "thresholds" for r in stored.record.get("reasons") or ()
    ):
        reasons.append(
            "the patient's own thresholds were refused when it was judged and are not "
            "recorded: today's were used"
        )
    if not reasons:
        before, after = stored.record.get("inputs") or {}, replayed.get("inputs") or {}
        differ = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        reasons.append(
            "not explained by later data; inputs that differ: "
            + (", ".join(f"{k} {before.get(k)!r} -> {after.get(k)!r}" for k in differ) or "none")
        )
    return reasons


def _iso(when: dt.datetime | None) -> str:
    return when.isoformat() if when is not None else "?"
