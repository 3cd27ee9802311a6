"""The shadow version of a pathway so far: which version, since when, how its results
compare with the active results of the same uploads, and the replay report over the live
period since it was published (``GET /api/pathways/{id}/shadow``): the same report a
replay gives (docs/replay.md), made from the results the shadow version stored instead of
judging again. Patients are read a page at a time, as a replay reads them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from store.db import session_scope
from store.models import PathwayVersion, TriageResult, utcnow
from store.pathways import shadow_row, version_row
from store.trials import ShadowResult
from triage import Level
from usecases.access import Actor, require_pathway
from usecases.errors import NotFound
from usecases.replay import source
from usecases.replay.period import Period
from usecases.replay.report import Outcome, Report, Tally, mask
from usecases.replay.run import PATIENTS_PER_PAGE, override_on, settle

__all__ = ["LEVELS", "ShadowReport", "shadow_report"]

EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)  # before any data the service accepts
LEVELS = tuple(level.label for level in sorted(Level, reverse=True))  # red, yellow, green


@dataclass(frozen=True)
class ShadowReport:
    """``matrix[active][shadow]``: uploads judged ``active`` by the version in force and
    ``shadow`` by the shadow version (each upload version once)."""

    shadow: PathwayVersion
    active: PathwayVersion | None
    levels: dict[str, int]  # shadow results by level
    matrix: dict[str, dict[str, int]]
    unpaired: int  # shadow results with no active result of the same upload version
    report: Report  # the replay report over the live period so far

    @property
    def results(self) -> int:
        return sum(self.levels.values())

    @property
    def compared(self) -> int:
        return sum(n for row in self.matrix.values() for n in row.values())

    @property
    def agreeing(self) -> int:
        return sum(self.matrix[level][level] for level in LEVELS)

    @property
    def since(self) -> dt.datetime:
        return self.shadow.published_at


def shadow_report(actor: Actor, pathway_id: str) -> ShadowReport:
    """The pathway's shadow version and its results so far (authors of the pathway)."""
    require_pathway(actor, pathway_id)
    with session_scope() as session:
        shadow = shadow_row(session, pathway_id)
        if shadow is None:
            raise NotFound("the pathway has no shadow version")
        return _report(session, shadow)


def _replayed(session: Session, shadow: PathwayVersion) -> Report:
    """The replay report of the shadow version over its live period: each upload's active
    result (the newest of its newest version) beside what the shadow version stored."""
    period = Period(shadow.published_at, utcnow(), f"since {shadow.published_at.isoformat()}")
    # Every stored result may have a shadow result beside it, whatever the time of its data
    # (a late upload arrives after the publish with data from before): the pairs decide.
    every = Period(EARLIEST, period.end, period.text)
    tally = Tally()
    pathway = shadow.pathway_id
    for patients in source.patient_pages(session, pathway, every, PATIENTS_PER_PAGE):
        stored = source.stored_results(session, pathway, every, patients)
        judged = _shadow_results(session, shadow, patients)
        overrides = source.overrides(session, pathway, patients)
        resolved = source.resolutions(session, pathway, patients)
        national_ids = source.national_ids(session, patients)
        kinds = source.uploads(session, [r.resource_id for rows in stored.values() for r in rows])
        for patient_id in patients:
            national_id = mask(national_ids.get(patient_id))
            outcomes = []
            for row in stored.get(patient_id, []):
                mine = judged.get((row.resource_id, row.resource_version))
                if mine is None:  # judged before the shadow version came, or not by it
                    continue
                outcome = Outcome(
                    patient_id=patient_id,
                    national_id=national_id,
                    upload=f"{kinds[row.resource_id].resource_type}/{row.resource_id}"
                    if row.resource_id in kinds
                    else row.resource_id,
                    result_id=row.result_id,
                    as_of=row.as_of,
                    stored=row.level,
                    draft=Level.parse(mine.level),
                    stored_fired=row.fired,
                    draft_fired=tuple(mine.result.get("fired") or ()),
                    inputs=mine.result.get("inputs") or {},
                    override=override_on(overrides.get(patient_id, []), row.created),
                    same_version=False,
                )
                tally.add(outcome)
                outcomes.append(outcome)
            settle(patient_id, national_id, outcomes, resolved.get(patient_id, []), tally)
        session.expunge_all()
    ruleset = {"id": pathway, "version": shadow.version, "sha256": shadow.sha256}
    return tally.report(ruleset, period.to_dict(), period.days)


def _shadow_results(
    session: Session, shadow: PathwayVersion, patients: list[str]
) -> dict[tuple[str | None, int | None], ShadowResult]:
    found = session.exec(
        select(ShadowResult).where(
            col(ShadowResult.pathway_id) == shadow.pathway_id,
            col(ShadowResult.version) == shadow.version,
            col(ShadowResult.patient_id).in_(patients),
        )
    )
    return {(r.resource_id, r.resource_version or 1): r for r in found}


def _report(session: Session, shadow: PathwayVersion) -> ShadowReport:
    mine = (col(ShadowResult.pathway_id) == shadow.pathway_id) & (
        col(ShadowResult.version) == shadow.version
    )
    levels = dict.fromkeys(LEVELS, 0)
    by_level = select(ShadowResult.level, sa.func.count()).where(mine).group_by(ShadowResult.level)
    for level, n in session.exec(by_level):
        levels[level] = levels.get(level, 0) + int(n)
    # One active result per upload version (a version judged already is not judged again,
    # usecases/judging/uploads.py); grouped all the same, so nothing is counted twice.
    active = (
        select(
            TriageResult.resource_id,
            TriageResult.resource_version,
            sa.func.max(TriageResult.level).label("level"),
        )
        .where(
            col(TriageResult.pathway_id) == shadow.pathway_id,
            col(TriageResult.kind) == "upload",
        )
        .group_by(col(TriageResult.resource_id), col(TriageResult.resource_version))
        .subquery()
    )
    pairs = (
        select(active.c.level, ShadowResult.level, sa.func.count())
        .select_from(ShadowResult)
        .outerjoin(
            active,
            (active.c.resource_id == ShadowResult.resource_id)
            & (active.c.resource_version == ShadowResult.resource_version),
        )
        .where(mine)
        .group_by(active.c.level, ShadowResult.level)
    )
    matrix = {level: dict.fromkeys(LEVELS, 0) for level in LEVELS}
    unpaired = 0
    for before, after, n in session.exec(pairs):
        if before is None:
            unpaired += int(n)
        else:
            matrix[before][after] += int(n)
    active_row = version_row(session, shadow.pathway_id)
    report = _replayed(session, shadow)
    return ShadowReport(shadow, active_row, levels, matrix, unpaired, report)
