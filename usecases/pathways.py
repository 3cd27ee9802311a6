"""Pathway files as clinicians and authors see them: the ones in force, one version with
its history, and publishing a new version (authors of granted pathways)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from store.db import session_scope
from store.models import PathwayVersion
from store.pathways import compiled, latest_rows, version_row
from triage import Pathway
from usecases.access import Actor, require_pathway
from usecases.errors import Conflict, NotFound, Unprocessable
from usecases.ingest.upload import dispatch_after_commit
from usecases.publishing import Published, PublishRefused, publish

__all__ = [
    "Details",
    "Version",
    "granted_ids",
    "in_detail",
    "list_pathways",
    "publish_pathway",
    "read_pathway",
]

NOT_PUBLISHED = "the pathway file was not published"


@dataclass(frozen=True)
class Version:
    """One published version of a pathway file, in its history."""

    version: int
    sha256: str
    published_at: dt.datetime | None
    published_by: str | None


@dataclass(frozen=True)
class Details:
    """One stored version of a pathway (its row, compiled) and every version published."""

    row: PathwayVersion
    pathway: Pathway
    history: list[Version]  # the newest first

    @property
    def in_force(self) -> bool:
        return self.history[0].version == self.row.version


def list_pathways(actor: Actor) -> list[PathwayVersion]:
    """The pathways in force that the caller is granted."""
    with session_scope() as session:
        return [r for r in latest_rows(session) if actor.may_see_pathway(r.pathway_id)]


def granted_ids(actor: Actor) -> list[str]:
    """The ids of the pathways the caller is granted: every one in force for ``*``."""
    if "*" not in actor.pathways:
        return sorted(actor.pathways)
    with session_scope() as session:
        return sorted(row.pathway_id for row in latest_rows(session))


def read_pathway(actor: Actor, pathway_id: str, version: int | None = None) -> Details:
    """One pathway (in force, or ``version``): its file, compiled, and its history."""
    require_pathway(actor, pathway_id)
    with session_scope() as session:
        return _details(session, pathway_id, version)


def in_detail(actor: Actor) -> list[Details]:
    """Every pathway in force that the caller is granted, in detail."""
    with session_scope() as session:
        rows = [r for r in latest_rows(session) if actor.may_see_pathway(r.pathway_id)]
        return [_details(session, row.pathway_id, None) for row in rows]


def _details(session: Session, pathway_id: str, version: int | None) -> Details:
    row = version_row(session, pathway_id, version)
    if row is None:
        raise NotFound("no such pathway or version")
    history = session.exec(
        select(
            PathwayVersion.version,
            PathwayVersion.sha256,
            PathwayVersion.published_at,
            PathwayVersion.published_by,
        )
        .where(col(PathwayVersion.pathway_id) == pathway_id)
        .order_by(col(PathwayVersion.version).desc())
    ).all()
    return Details(row, compiled(row), [Version(*line) for line in history])


def publish_pathway(
    actor: Actor, pathway_id: str, text: str, request_id: str | None = None
) -> Published:
    """Check and publish a pathway file as its new version (authors of granted pathways).

    Once committed, the patients on the pathway are judged again with it, within a minute
    (what is not handed over now, the periodic re-send hands over)."""
    require_pathway(actor, pathway_id)
    try:
        with session_scope() as session:
            published = publish(session, text, by=actor.subject, expected_id=pathway_id)
    except PublishRefused as exc:
        refusal = Conflict if exc.stale else Unprocessable
        raise refusal(NOT_PUBLISHED, exc.problems) from None
    except IntegrityError:
        # Two authors published the same version number at the same moment: one wins.
        problem = f"{pathway_id}.yaml:1:1: this version was just published by someone else"
        raise Conflict(NOT_PUBLISHED, [problem]) from None
    dispatch_after_commit(published.rejudge, request_id)
    return published
