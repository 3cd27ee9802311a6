"""Pathway versions in the database, and the compiled pathways every process shares.

Queries only; publishing a version is a use case (:mod:`usecases.publishing`). Only
``active`` versions are ever "in force"; a ``shadow`` version (judging beside the active one)
is found by :func:`shadow_row` and :func:`shadows_in_force` alone. A compiled
:class:`triage.Pathway` is cached by SHA-256, so a version is compiled once per process
and a task holds one version from start to end.
"""

from __future__ import annotations

import threading

from sqlalchemy import func
from sqlmodel import Session, col, select

from runtime import caches
from store.models import PathwayVersion
from triage import Pathway, load_pathway_text

_compiled = caches.lru("pathways.compiled", maxsize=256)
_lock = threading.Lock()


def compiled(row: PathwayVersion) -> Pathway:
    """The compiled pathway of a stored version (compiled once per process)."""
    with _lock:
        pathway: Pathway | None = _compiled.get(row.sha256)
    if pathway is None:
        pathway = load_pathway_text(row.text, f"{row.pathway_id}.yaml")
        with _lock:
            _compiled[row.sha256] = pathway
    return pathway


def remember(pathway: Pathway) -> None:
    """Keep a pathway this process has just published, and ask the database again for
    the set in force on the next call."""
    with _lock:
        _compiled[pathway.sha256] = pathway
        _in_force.clear()
        _shadows.clear()


ACTIVE = "active"
SHADOW = "shadow"
RETIRED = "retired"


def latest_rows(session: Session) -> list[PathwayVersion]:
    """The newest active version of every pathway (the ones in force)."""
    newest = (
        select(PathwayVersion.pathway_id, func.max(PathwayVersion.version).label("v"))
        .where(col(PathwayVersion.mode) == ACTIVE)
        .group_by(PathwayVersion.pathway_id)
        .subquery()
    )
    query = select(PathwayVersion).join(
        newest,
        (col(PathwayVersion.pathway_id) == newest.c.pathway_id)
        & (col(PathwayVersion.version) == newest.c.v),
    )
    return list(session.exec(query.order_by(PathwayVersion.pathway_id)))


def current_pathways(session: Session) -> dict[str, Pathway]:
    """Every pathway in force, by id."""
    return {row.pathway_id: compiled(row) for row in latest_rows(session)}


# How long a process may keep using the set of pathways in force before asking again.
# A version published by another process is used by this one within this many seconds;
# each job takes the set once, so a result is always made by one version of each file.
IN_FORCE_SECONDS = 2.0
_in_force = caches.ttl("pathways.in_force", maxsize=1, seconds=IN_FORCE_SECONDS)


def pathways_in_force(session: Session) -> dict[str, Pathway]:
    """:func:`current_pathways`, asked of the database at most every
    :data:`IN_FORCE_SECONDS`.

    Ingest and triage ask on every request and job; one query for each was a tenth of
    their time. A publish in this process refreshes it at once (:func:`remember`).
    """
    with _lock:
        cached: dict[str, Pathway] | None = _in_force.get("all")
    if cached is not None:
        return cached
    fresh = current_pathways(session)
    with _lock:
        _in_force["all"] = fresh
    return fresh


def version_row(
    session: Session, pathway_id: str, version: int | None = None
) -> PathwayVersion | None:
    """The version in force (the newest active one), or version ``version`` in any mode."""
    query = select(PathwayVersion).where(PathwayVersion.pathway_id == pathway_id)
    if version is not None:
        query = query.where(PathwayVersion.version == version)
    else:
        query = query.where(col(PathwayVersion.mode) == ACTIVE)
    return session.exec(query.order_by(col(PathwayVersion.version).desc())).first()


def newest_row(session: Session, pathway_id: str) -> PathwayVersion | None:
    """The highest version number published for a pathway, whatever its mode."""
    query = select(PathwayVersion).where(PathwayVersion.pathway_id == pathway_id)
    return session.exec(query.order_by(col(PathwayVersion.version).desc())).first()


def shadow_row(session: Session, pathway_id: str) -> PathwayVersion | None:
    """The pathway's shadow version, if it has one."""
    query = select(PathwayVersion).where(
        PathwayVersion.pathway_id == pathway_id, col(PathwayVersion.mode) == SHADOW
    )
    return session.exec(query).first()


_shadows = caches.ttl("pathways.shadows", maxsize=1, seconds=IN_FORCE_SECONDS)


def shadows_in_force(session: Session) -> dict[str, Pathway]:
    """Every shadow version, by pathway id, asked of the database at most every
    :data:`IN_FORCE_SECONDS` (as :func:`pathways_in_force`)."""
    with _lock:
        cached: dict[str, Pathway] | None = _shadows.get("all")
    if cached is not None:
        return cached
    rows = session.exec(select(PathwayVersion).where(col(PathwayVersion.mode) == SHADOW))
    fresh = {row.pathway_id: compiled(row) for row in rows}
    with _lock:
        _shadows["all"] = fresh
    return fresh
