"""Pathway files as clinicians and authors see them: the ones in force, one version with
its history, and publishing a new version (authors of granted pathways)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from store.db import session_scope
from store.models import PathwayVersion
from store.pathways import ACTIVE, compiled, latest_rows, version_row
from triage import Pathway
from usecases.access import Actor, audit, require_pathway
from usecases.errors import Conflict, NotFound, Unprocessable
from usecases.ingest.upload import dispatch_after_commit
from usecases.publishing import Published, PublishRefused, promote, publish

__all__ = [
    "Details",
    "Published",
    "Version",
    "granted_ids",
    "in_detail",
    "list_pathways",
    "promote_pathway",
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
    mode: str = ACTIVE  # active, shadow, or retired (a shadow version never promoted)


@dataclass(frozen=True)
class Details:
    """One stored version of a pathway (its row, compiled) and every version published."""

    row: PathwayVersion
    pathway: Pathway
    history: list[Version]  # the newest first

    @property
    def in_force(self) -> bool:
        active = [v.version for v in self.history if v.mode == ACTIVE]
        return bool(active) and active[0] == self.row.version


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
        select(PathwayVersion)
        .where(col(PathwayVersion.pathway_id) == pathway_id)
        .order_by(col(PathwayVersion.version).desc())
    ).all()
    versions = [
        Version(v.version, v.sha256, v.published_at, v.published_by, v.mode) for v in history
    ]
    return Details(row, compiled(row), versions)


def publish_pathway(
    actor: Actor,
    pathway_id: str,
    text: str,
    request_id: str | None = None,
    mode: str = ACTIVE,
) -> Published:
    """Check and publish a pathway file as its new version (authors of granted pathways);
    audited. ``mode="shadow"``: beside the version in force (usecases/publishing.py).

    Once committed, the patients on the pathway are judged again with an active version,
    within a minute (what is not handed over now, the periodic re-send hands over)."""
    require_pathway(actor, pathway_id)
    try:
        with session_scope() as session:
            published = publish(session, text, actor.subject, pathway_id, mode)
            if published.created:
                _audit_version(session, actor, "pathway.publish", published)
    except PublishRefused as exc:
        refusal = Conflict if exc.stale else Unprocessable
        raise refusal(NOT_PUBLISHED, exc.problems) from None
    except IntegrityError:
        # Two authors published the same version number at the same moment: one wins.
        problem = f"{pathway_id}.yaml:1:1: this version was just published by someone else"
        raise Conflict(NOT_PUBLISHED, [problem]) from None
    dispatch_after_commit(published.rejudge, request_id)
    return published


def promote_pathway(actor: Actor, pathway_id: str, request_id: str | None = None) -> Published:
    """Make the shadow version the one in force, re-judging what is open (authors of the
    pathway); audited. 409 when the pathway has no shadow version."""
    require_pathway(actor, pathway_id)
    with session_scope() as session:
        promoted = promote(session, pathway_id)
        if promoted is None:
            raise Conflict("the pathway has no shadow version to promote")
        _audit_version(session, actor, "pathway.promote", promoted)
    dispatch_after_commit(promoted.rejudge, request_id)
    return promoted


def _audit_version(session: Session, actor: Actor, action: str, published: Published) -> None:
    row = published.row
    target = f"pathway/{row.pathway_id}"
    audit(session, actor, action, None, target, version=row.version, mode=row.mode)
