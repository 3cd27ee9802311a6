"""Pathway versions in the database, and the compiled pathways every process shares.

The files in ``rules/`` are published at start-up as version rows; ``PUT /api/pathways``
publishes new versions, and each new version asks the worker to re-judge what is open.
A compiled :class:`triage.Pathway` is cached by SHA-256, so a
version is compiled once per process and a task holds one version from start to end.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, col, select

from store.models import Enrolment, Outbox, PathwayVersion, WorklistItem, utcnow
from triage import Pathway, PathwayError, load_pathway_text, run_pathway_tests

log = logging.getLogger(__name__)

_cache: dict[str, Pathway] = {}
_lock = threading.Lock()


def compiled(row: PathwayVersion) -> Pathway:
    """The compiled pathway of a stored version (compiled once per process)."""
    with _lock:
        pathway = _cache.get(row.sha256)
    if pathway is None:
        pathway = load_pathway_text(row.text, f"{row.pathway_id}.yaml")
        with _lock:
            _cache[row.sha256] = pathway
    return pathway


def latest_rows(session: Session) -> list[PathwayVersion]:
    """The newest version of every pathway."""
    newest = (
        select(PathwayVersion.pathway_id, func.max(PathwayVersion.version).label("v"))
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
_in_force: tuple[float, dict[str, Pathway]] | None = None


def pathways_in_force(session: Session, max_age: float = IN_FORCE_SECONDS) -> dict[str, Pathway]:
    """:func:`current_pathways`, asked of the database at most every ``max_age`` seconds.

    Ingest and triage ask on every request and job; one query for each was a tenth of
    their time. :func:`publish` in this process refreshes it at once.
    """
    global _in_force
    now = time.monotonic()
    cached = _in_force
    if cached is not None and now - cached[0] < max_age:
        return cached[1]
    fresh = current_pathways(session)
    _in_force = (now, fresh)
    return fresh


def forget_in_force() -> None:
    """Drop the cached set (after a publish, and between tests)."""
    global _in_force
    _in_force = None


def version_row(
    session: Session, pathway_id: str, version: int | None = None
) -> PathwayVersion | None:
    query = select(PathwayVersion).where(PathwayVersion.pathway_id == pathway_id)
    if version is not None:
        query = query.where(PathwayVersion.version == version)
    return session.exec(query.order_by(col(PathwayVersion.version).desc())).first()


@dataclass(frozen=True)
class PublishRefused(Exception):
    """A pathway file that cannot be published; ``problems`` are ``FILE:LINE:COL: ...``."""

    status: int
    problems: list[str]

    def __str__(self) -> str:
        return "; ".join(self.problems)


@dataclass(frozen=True)
class Published:
    """A publish: the version row, whether it is new, and the re-judge outbox rows written."""

    row: PathwayVersion
    created: bool
    rejudge: list[int] = field(default_factory=list)


def publish(session: Session, text: str, by: str, expected_id: str | None = None) -> Published:
    """Check and publish a pathway file. Refuses with line numbers.

    Checked: the file loads (syntax, names, types), its embedded tests pass, its id is the
    one in the URL, and its version is higher than the one in force (re-publishing the
    very same file is a no-op). A new version re-judges what is open (API.md): in the same
    transaction, one ``rejudge`` outbox row per patient enrolled in the pathway or with an
    open item on it; the caller hands them to the worker after the commit.
    """
    name = f"{expected_id or 'pathway'}.yaml"
    try:
        pathway = load_pathway_text(text, name)
    except PathwayError as exc:
        raise PublishRefused(422, [p.format() for p in exc.problems]) from None
    if expected_id is not None and pathway.id != expected_id:
        raise PublishRefused(
            422, [f"{name}:1:1: the file says pathway: {pathway.id}, the URL says {expected_id}"]
        )
    failed = [o for o in run_pathway_tests(pathway) if not o.passed]
    if failed:
        raise PublishRefused(
            422,
            [
                f"{name}:{o.test.line}:1: test '{o.test.name}' expected {o.test.expect.label}, "
                f"got {o.got.label if o.got else o.problem}"
                for o in failed
            ],
        )
    current = version_row(session, pathway.id)
    if current is not None:
        if current.sha256 == pathway.sha256:
            return Published(current, False)
        if pathway.version <= current.version:
            raise PublishRefused(
                409,
                [
                    f"{name}:1:1: version {pathway.version} is not higher than version "
                    f"{current.version} in force; raise 'version' to {current.version + 1}"
                ],
            )
    row = PathwayVersion(
        pathway_id=pathway.id,
        version=pathway.version,
        sha256=pathway.sha256,
        title=pathway.title,
        text=text,
        published_by=by,
    )
    session.add(row)
    session.flush()
    rejudge = queue_rejudge(session, pathway.id, pathway.version)
    with _lock:
        _cache[pathway.sha256] = pathway
    forget_in_force()
    return Published(row, True, rejudge)


def queue_rejudge(session: Session, pathway_id: str, version: int) -> list[int]:
    """Outbox rows (not committed) asking to judge the newest data of every patient
    enrolled in the pathway, or with an open item on it, with ``version``."""
    enrolled = select(Enrolment.patient_id).where(
        col(Enrolment.pathway_id) == pathway_id, col(Enrolment.active).is_(True)
    )
    listed = select(WorklistItem.patient_id).where(
        col(WorklistItem.pathway_id) == pathway_id, col(WorklistItem.open_key).is_not(None)
    )
    patients = sorted(set(session.exec(enrolled)) | set(session.exec(listed)))
    if not patients:
        return []
    now = utcnow()
    table = Outbox.__table__  # type: ignore[attr-defined]
    rows = [
        {
            "patient_id": patient_id,
            "resource_ids": [],
            "created": now,
            "kind": "rejudge",
            "pathway_id": pathway_id,
            "version": version,
        }
        for patient_id in patients
    ]
    ids = session.execute(table.insert().returning(table.c.id), rows).scalars().all()
    return sorted(int(i) for i in ids)


def sync_rules_dir(session: Session, rules_dir: Path) -> list[str]:
    """Publish each file in ``rules_dir`` whose version is not stored yet; return notes.

    A file changed without raising its version is not published (the stored version stays
    in force) and is reported, so nobody is triaged by a file that is not recorded.
    """
    notes: list[str] = []
    for path in sorted(rules_dir.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        try:
            published = publish(session, text, by="rules-dir")
        except PublishRefused as exc:
            notes.append(f"{path.name}: not published: {exc}")
            log.warning("pathway file not published: %s", path.name)
            continue
        if published.created:
            row = published.row
            notes.append(f"{path.name}: published {row.pathway_id} version {row.version}")
    return notes
