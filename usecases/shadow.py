"""The shadow version of a pathway so far: which version, since when, and how its results
compare with the active results of the same uploads (``GET /api/pathways/{id}/shadow``).

Counts only, no patient: the full replay report (usecases/replay/) may take its place.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from store.db import session_scope
from store.models import PathwayVersion, ShadowResult, TriageResult
from store.pathways import shadow_row, version_row
from triage import Level
from usecases.access import Actor, require_pathway
from usecases.errors import NotFound

__all__ = ["LEVELS", "ShadowReport", "shadow_report"]

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
    return ShadowReport(shadow, version_row(session, shadow.pathway_id), levels, matrix, unpaired)
