"""Replaying a draft pathway over the uploads stored in a period (docs/replay.md).

Each upload the pathway read (a stored result of kind ``upload``) is judged with the draft
as live triage judged it (usecases/judging/evaluation.py): as of its own time, on the
patient's data at or before that time, with the patient's own thresholds as the stored
result recorded them, and the same notes routing adds (an Observation without a value).
Patients are read a page at a time, in id order, and each patient's uploads in chunks,
each chunk's readings loaded once: memory stays flat however many uploads there are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlmodel import Session

from store.db import session_scope
from store.models import Resource
from triage import Level, Pathway
from usecases.judging.evaluation import Moment, PathwayData, judge
from usecases.judging.routing import routes_of
from usecases.replay import source
from usecases.replay.explain import why_not_reproduced
from usecases.replay.period import Period
from usecases.replay.report import Opened, Outcome, Report, Tally, mask
from usecases.replay.source import Stored

PATIENTS_PER_PAGE = 100
UPLOADS_PER_CHUNK = 500  # one patient's uploads judged over one load of their readings

Progress = Callable[[int, int], None]  # (uploads done, uploads in all)
WITHDRAWN = "withdrawn after it was judged: no longer data"
NOT_READ = "not read by the draft"
GONE = "the upload is no longer stored"


@dataclass(frozen=True)
class _Batch:
    """What a page of patients needs besides their uploads."""

    resources: dict[str, Resource]
    overrides: dict[str, list[source.Overridden]]
    resolved: dict[str, list[dt.datetime]]
    national_ids: dict[str, str | None]
    thresholds: dict[str, dict[str, object]]


def replay(
    draft: Pathway,
    period: Period,
    progress: Progress | None = None,
    after_page: Callable[[int], None] | None = None,
) -> Report:
    """Judge every upload the pathway read in ``period`` with ``draft``; the report.

    ``progress`` is told after each page of patients; ``after_page`` too (the job uses it
    to record how far it got, and a test to stop a job halfway)."""
    tally = Tally()
    with session_scope() as session:
        total = source.count_uploads(session, draft.id, period)
        pages = source.patient_pages(session, draft.id, period, PATIENTS_PER_PAGE)
        for number, patients in enumerate(pages):
            _page(session, draft, period, patients, tally)
            session.expunge_all()  # nothing of a page outlives it
            if progress is not None:
                progress(tally.uploads + sum(tally.not_replayed.values()), total)
            if after_page is not None:
                after_page(number)
    ruleset = {"id": draft.id, "version": draft.version, "sha256": draft.sha256}
    return tally.report(ruleset, period.to_dict(), period.days)


def _page(
    session: Session, draft: Pathway, period: Period, patients: list[str], tally: Tally
) -> None:
    stored = source.stored_results(session, draft.id, period, patients)
    results = [s for rows in stored.values() for s in rows]
    batch = _Batch(
        resources=source.uploads(session, [s.resource_id for s in results]),
        overrides=source.overrides(session, draft.id, patients),
        resolved=source.resolutions(session, draft.id, patients),
        national_ids=source.national_ids(session, patients),
        thresholds=source.enrolment_thresholds(session, draft.id, patients),
    )
    for patient_id in patients:
        _patient(session, draft, patient_id, stored.get(patient_id, []), batch, tally)


def _patient(
    session: Session,
    draft: Pathway,
    patient_id: str,
    stored: list[Stored],
    batch: _Batch,
    tally: Tally,
) -> None:
    todo: list[tuple[Stored, Resource]] = []
    for row in stored:
        resource = batch.resources.get(row.resource_id)
        if resource is None:
            tally.skip(GONE, row.resource_id, patient_id, listed_in_full=True)
        elif resource.withdrawn and resource.version_id > 1:
            tally.skip(WITHDRAWN, _what(resource), patient_id, listed_in_full=True)
        else:
            todo.append((row, resource))
    routing = routes_of(session, [r for _, r in todo], {draft.id: draft})
    readable = [(s, r) for s, r in todo if draft.id in routing.readers.get(r.id, [])]
    for _, r in todo:
        if draft.id not in routing.readers.get(r.id, []):
            tally.skip(NOT_READ, _what(r), patient_id, listed_in_full=False)
    national_id = mask(batch.national_ids.get(patient_id))
    outcomes: list[Outcome] = []
    for start in range(0, len(readable), UPLOADS_PER_CHUNK):
        chunk = readable[start : start + UPLOADS_PER_CHUNK]
        moments = [
            Moment(
                as_of=resource.data_time or resource.received_at,
                resource=resource,
                extra=routing.extra.get((resource.id, draft.id), []),
                arrived=resource.received_at,
            )
            for _, resource in chunk
        ]
        data = PathwayData(session, draft, patient_id, moments)
        for (row, resource), moment in zip(chunk, moments, strict=True):
            own, _ = row.thresholds(batch.thresholds.get(patient_id))
            judged = judge(data, moment, own, row.created)
            outcome = Outcome(
                patient_id=patient_id,
                national_id=national_id,
                upload=_what(resource),
                result_id=row.result_id,
                as_of=moment.as_of,
                stored=row.level,
                draft=judged.level,
                stored_fired=row.fired,
                draft_fired=tuple(judged.record.get("fired") or ()),
                inputs=judged.record.get("inputs") or {},
                override=override_on(batch.overrides.get(patient_id, []), row.created),
                same_version=row.sha256 == draft.sha256,
            )
            tally.add(outcome)
            outcomes.append(outcome)
            if outcome.same_version and not outcome.reproduced:
                tally.not_reproduced.append(_mismatch(session, row, outcome, judged.record))
    settle(patient_id, national_id, outcomes, batch.resolved.get(patient_id, []), tally)


def settle(
    patient_id: str,
    national_id: str | None,
    outcomes: list[Outcome],
    resolved: list[dt.datetime],
    tally: Tally,
) -> None:
    """A patient's outcomes, oldest first, once all are known: the items that would have
    opened before and after, and the patient listed if the draft gives a red where the
    stored results had none (a shadow version's report does the same: usecases/shadow.py)."""
    times = [o.as_of for o in outcomes]
    _opened([o.stored for o in outcomes], times, resolved, tally.opened_before)
    _opened([o.draft for o in outcomes], times, resolved, tally.opened_after)
    reds = [o for o in outcomes if o.draft == Level.RED]
    if reds and not any(o.stored == Level.RED for o in outcomes):
        tally.new_red.append(
            {
                "patient": patient_id,
                "national_id": national_id,
                "red_uploads": len(reds),
                "first_red": reds[0].as_of.isoformat(),
                "first_red_upload": reds[0].upload,
                "stored_levels": sorted({o.stored.label for o in reds}),
            }
        )


def _opened(
    levels: Sequence[Level], times: Sequence[dt.datetime], resolved: list[dt.datetime], out: Opened
) -> None:
    """The item model (docs/replay.md): a red or yellow result opens an item when none is
    open; it stays open until the patient's next real item on the pathway was resolved
    after it opened; a red on an open yellow raises it."""
    held: Level | None = None
    until: dt.datetime | None = None
    for level, at in zip(levels, times, strict=True):
        if held is not None and until is not None and at >= until:
            held = None
        if level == Level.GREEN:
            continue
        if held is None:
            held = level
            until = next((r for r in resolved if r > at), None)
            out.red += level == Level.RED
            out.yellow += level == Level.YELLOW
        elif level > held:
            held = level
            out.raised_to_red += 1


def _mismatch(
    session: Session, row: Stored, outcome: Outcome, record: dict[str, object]
) -> dict[str, object]:
    return {
        "upload": outcome.upload,
        "patient": outcome.patient_id,
        "national_id": outcome.national_id,
        "as_of": outcome.as_of.isoformat(),
        "stored": outcome.stored.label,
        "replayed": outcome.draft.label,
        "fired_before": sorted(outcome.stored_fired),
        "fired_after": sorted(outcome.draft_fired),
        "why": why_not_reproduced(session, row, record),
    }


def override_on(items: list[source.Overridden], made: dt.datetime) -> Level | None:
    """The clinician's level on the item the result landed on (open when it was made)."""
    return next((i.level for i in items if i.holds(made)), None)


def _what(resource: Resource) -> str:
    return f"{resource.resource_type}/{resource.id}"
