"""What a replay reads from the store, a batch of patients at a time: the results stored
for the pathway's uploads in the period, the uploads, the clinicians' overrides on the items
the results landed on, when those items were resolved, and the patients' national ids."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, select

from store.models import Enrolment, Patient, Resource, TriageResult, WorklistItem
from triage import Level
from usecases.replay.period import Period

T = TypeVar("T")
IN_LIST = 900  # ids per IN (...): SQLite's limit on bound values stays far away


@dataclass(frozen=True)
class Stored:
    """A result stored for one upload: what live triage made of it."""

    result_id: str
    patient_id: str
    resource_id: str
    resource_version: int
    level: Level
    record: dict[str, Any]
    sha256: str
    version: int
    created: dt.datetime
    as_of: dt.datetime

    @property
    def fired(self) -> tuple[str, ...]:
        return tuple(self.record.get("fired") or ())

    def thresholds(self, today: dict[str, Any] | None) -> tuple[dict[str, Any] | None, bool]:
        """The patient's own thresholds as they were when it was judged, from the result:
        None when the patient was not enrolled. The result records the values it used and
        which were the patient's own. When they were refused then (the pathway had changed),
        the refused values are not recorded: ``today`` (the enrolment's) stand in, and the
        second value says so."""
        if self.record.get("enrolled") is False:
            return None, False
        refused = any(r.get("kind") == "thresholds" for r in self.record.get("reasons") or ())
        if refused:
            return today, True
        used = self.record.get("thresholds") or {}
        return {name: used[name] for name in self.record.get("patient_thresholds") or ()}, False


def _chunks(items: Sequence[T], size: int = IN_LIST) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _in_period(pathway_id: str, period: Period) -> Any:
    return sa.and_(
        col(TriageResult.pathway_id) == pathway_id,
        col(TriageResult.kind) == "upload",
        col(TriageResult.data_time) >= period.start,
        col(TriageResult.data_time) < period.end,
    )


def count_uploads(session: Session, pathway_id: str, period: Period) -> int:
    """Uploads with a result in the period (an upload judged twice, corrected, counts once)."""
    query = select(sa.func.count(sa.distinct(col(TriageResult.resource_id)))).where(
        _in_period(pathway_id, period)
    )
    return int(session.exec(query).one())


def patient_pages(
    session: Session, pathway_id: str, period: Period, size: int, after: str = ""
) -> Iterator[list[str]]:
    """The patients with results in the period, in id order, ``size`` at a time (keyset
    pages: never all of them in memory)."""
    while True:
        page = list(
            session.exec(
                select(TriageResult.patient_id)
                .where(_in_period(pathway_id, period), col(TriageResult.patient_id) > after)
                .group_by(col(TriageResult.patient_id))
                .order_by(col(TriageResult.patient_id))
                .limit(size)
            )
        )
        if not page:
            return
        yield page
        after = page[-1]


def stored_results(
    session: Session, pathway_id: str, period: Period, patients: Sequence[str]
) -> dict[str, list[Stored]]:
    """Per patient, the newest result of each upload (its newest version), oldest first."""
    newest: dict[str, Stored] = {}
    for chunk in _chunks(patients):
        rows = session.execute(
            sa.select(
                col(TriageResult.id),
                col(TriageResult.patient_id),
                col(TriageResult.resource_id),
                col(TriageResult.resource_version),
                col(TriageResult.level),
                col(TriageResult.result),
                col(TriageResult.sha256),
                col(TriageResult.version),
                col(TriageResult.created),
                col(TriageResult.data_time),
            ).where(_in_period(pathway_id, period), col(TriageResult.patient_id).in_(chunk))
        )
        for rid, pid, res, rv, level, record, sha, version, created, as_of in rows:
            row = Stored(
                rid, pid, res, rv or 1, Level.parse(level), record, sha, version, created, as_of
            )
            old = newest.get(res)
            if old is None or (row.resource_version, row.created) > (
                old.resource_version,
                old.created,
            ):
                newest[res] = row
    out: dict[str, list[Stored]] = defaultdict(list)
    for row in sorted(newest.values(), key=lambda s: (s.as_of, s.created, s.resource_id)):
        out[row.patient_id].append(row)
    return out


def uploads(session: Session, ids: Sequence[str]) -> dict[str, Resource]:
    found: dict[str, Resource] = {}
    for chunk in _chunks(ids):
        found.update(
            (r.id, r) for r in session.exec(select(Resource).where(col(Resource.id).in_(chunk)))
        )
    return found


@dataclass(frozen=True)
class Overridden:
    """An item a clinician overrode: the results made while it was open landed on it."""

    opened: dt.datetime
    resolved: dt.datetime | None
    level: Level

    def holds(self, made: dt.datetime) -> bool:
        return self.opened <= made and (self.resolved is None or made <= self.resolved)


def overrides(
    session: Session, pathway_id: str, patients: Sequence[str]
) -> dict[str, list[Overridden]]:
    """Per patient, the items on the pathway that carry a clinician's level."""
    out: dict[str, list[Overridden]] = defaultdict(list)
    for chunk in _chunks(patients):
        rows = session.exec(
            select(
                WorklistItem.patient_id,
                WorklistItem.created,
                WorklistItem.resolved_at,
                WorklistItem.override_level,
            ).where(
                col(WorklistItem.pathway_id) == pathway_id,
                col(WorklistItem.patient_id).in_(chunk),
                col(WorklistItem.override_level).is_not(None),
            )
        )
        for pid, opened, resolved, level in rows:
            out[pid].append(Overridden(opened, resolved, Level.parse(level)))
    return out


def resolutions(
    session: Session, pathway_id: str, patients: Sequence[str]
) -> dict[str, list[dt.datetime]]:
    """When each patient's items on the pathway were resolved, in order."""
    out: dict[str, list[dt.datetime]] = defaultdict(list)
    for chunk in _chunks(patients):
        rows = session.exec(
            select(WorklistItem.patient_id, WorklistItem.resolved_at).where(
                col(WorklistItem.pathway_id) == pathway_id,
                col(WorklistItem.patient_id).in_(chunk),
                col(WorklistItem.resolved_at).is_not(None),
            )
        )
        for pid, when in rows:
            if when is not None:
                out[pid].append(when)
    for times in out.values():
        times.sort()
    return out


def national_ids(session: Session, patients: Sequence[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for chunk in _chunks(patients):
        rows = session.exec(
            select(Patient.id, Patient.identifier_value).where(col(Patient.id).in_(chunk))
        )
        out.update((pid, value) for pid, value in rows)
    return out


def enrolment_thresholds(
    session: Session, pathway_id: str, patients: Sequence[str]
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(patients):
        rows = session.exec(
            select(Enrolment.patient_id, Enrolment.thresholds).where(
                col(Enrolment.pathway_id) == pathway_id, col(Enrolment.patient_id).in_(chunk)
            )
        )
        out.update((pid, dict(values)) for pid, values in rows)
    return out
