"""Publishing a pathway version: checked, stored, and what is open re-judged.

The files in ``rules/`` are published at start-up as version rows (:func:`sync_rules_dir`);
``PUT /api/pathways/{id}`` publishes new versions, and each new version asks the worker to
re-judge what is open, through outbox rows written in the same transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, col, select

from store.facts import StatRefresh
from store.models import Enrolment, Outbox, PathwayVersion, WorklistItem, utcnow
from store.pathways import (
    ACTIVE,
    RETIRED,
    SHADOW,
    compiled,
    newest_row,
    remember,
    shadow_row,
    version_row,
)
from triage import Pathway, PathwayError, load_pathway_text, run_pathway_tests

log = logging.getLogger(__name__)


class PublishRefused(Exception):
    """A pathway file that cannot be published; ``problems`` are ``FILE:LINE:COL: ...``.

    ``stale`` is true when the file is fine but its version is not above the one in force
    (the caller answers 409 Conflict; otherwise 422)."""

    def __init__(self, problems: list[str], stale: bool = False) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
        self.stale = stale


@dataclass(frozen=True)
class Published:
    """A publish: the version row, whether it is new, and the re-judge outbox rows written."""

    row: PathwayVersion
    created: bool
    rejudge: list[int] = field(default_factory=list)


def publish(
    session: Session, text: str, by: str, expected_id: str | None = None, mode: str = ACTIVE
) -> Published:
    """Check and publish a pathway file. Refuses with line numbers.

    Checked: the file loads (syntax, names, types), its embedded tests pass, its id is the
    one in the URL, and its version is higher than every version of the pathway published
    before, shadow ones included (re-publishing the very same file is a no-op). A new
    active version re-judges what is open (API.md): in the same transaction, one
    ``rejudge`` outbox row per patient enrolled in the pathway or with an open item on it;
    the caller hands them to the worker after the commit. It also retires the pathway's
    shadow version, whose number is now below the one in force.

    ``mode="shadow"`` stores the version beside the one in force, which stays in force
    and re-judges nothing; it retires the shadow version before it (docs/judging.md).
    """
    name = f"{expected_id or 'pathway'}.yaml"
    pathway = check(text, expected_id, name)
    current = version_row(session, pathway.id)
    shadow = shadow_row(session, pathway.id)
    same = current if mode == ACTIVE else shadow
    if same is not None and same.sha256 == pathway.sha256:
        return Published(same, False)
    if mode == SHADOW and current is None:
        problem = f"{name}:1:1: no version is in force to judge beside; publish it first"
        raise PublishRefused([problem], stale=True)
    newest = newest_row(session, pathway.id)
    if newest is not None and pathway.version <= newest.version:
        raise PublishRefused([_not_higher(name, pathway.version, newest)], stale=True)
    if shadow is not None:
        shadow.mode = RETIRED
        session.add(shadow)
        session.flush()  # before the new shadow row: one shadow per pathway (UNIQUE)
    row = PathwayVersion(
        pathway_id=pathway.id,
        version=pathway.version,
        sha256=pathway.sha256,
        title=pathway.title,
        text=text,
        published_by=by,
        mode=mode,
    )
    session.add(row)
    session.flush()
    rejudge = []
    if mode == ACTIVE:
        rejudge = now_in_force(session, pathway.id, pathway.version)
    remember(pathway)
    return Published(row, True, rejudge)


def promote(session: Session, pathway_id: str) -> Published | None:
    """Make the pathway's shadow version the one in force (``None``: it has none).

    What follows is what follows an active publish of that version: the statistics count
    the pathway again and what is open is re-judged with it. The shadow results stay,
    under their version number. Afterwards the pathway has no shadow version."""
    shadow = session.exec(
        select(PathwayVersion)
        .where(PathwayVersion.pathway_id == pathway_id, col(PathwayVersion.mode) == SHADOW)
        .with_for_update()
    ).first()
    if shadow is None:
        return None
    shadow.mode = ACTIVE
    session.add(shadow)
    session.flush()
    rejudge = now_in_force(session, pathway_id, shadow.version)
    remember(compiled(shadow))
    return Published(shadow, True, rejudge)


def now_in_force(session: Session, pathway_id: str, version: int) -> list[int]:
    """What follows when ``version`` comes into force: the statistics count the pathway
    again, and what is open is re-judged (the outbox rows written, not yet committed)."""
    # The statistics count scheduled forms by the newest version's schedule: the next call
    # counts the pathway again instead of reading counts made under the old one.
    session.execute(sa.delete(StatRefresh).where(col(StatRefresh.pathway_id) == pathway_id))
    return queue_rejudge(session, pathway_id, version)


def check(text: str, expected_id: str | None = None, name: str | None = None) -> Pathway:
    """The pathway file compiled, with every check publishing makes before the version
    check: it loads (syntax, names, types), its id is ``expected_id`` and its embedded tests
    pass. ``PublishRefused`` with ``FILE:LINE:COL: ...`` problems otherwise (a replay of a
    draft refuses exactly what a publish would). ``name``: the file's name in problems."""
    name = name or f"{expected_id or 'pathway'}.yaml"
    try:
        pathway = load_pathway_text(text, name)
    except PathwayError as exc:
        raise PublishRefused([p.format() for p in exc.problems]) from None
    if expected_id is not None and pathway.id != expected_id:
        raise PublishRefused(
            [f"{name}:1:1: the file says pathway: {pathway.id}, the URL says {expected_id}"]
        )
    failed = [o for o in run_pathway_tests(pathway) if not o.passed]
    if failed:
        raise PublishRefused(
            [
                f"{name}:{o.test.line}:1: test '{o.test.name}' expected {o.test.expect.label}, "
                f"got {o.got.label if o.got else o.problem}"
                for o in failed
            ],
        )
    return pathway


def _not_higher(name: str, version: int, newest: PathwayVersion) -> str:
    what = {ACTIVE: "in force", SHADOW: "(the shadow version)"}.get(newest.mode, "(retired)")
    return (
        f"{name}:1:1: version {version} is not higher than version {newest.version} {what}; "
        f"raise 'version' to {newest.version + 1}"
    )


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
