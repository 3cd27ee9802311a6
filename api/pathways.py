"""Pathway files: list, read (with history), and publish a new version (authors)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from api.auth import Author, DbSession, Staff, forbidden
from api.schemas import iso, number
from store.models import PathwayVersion
from store.pathways import compiled, latest_rows, version_row
from triage import Pathway
from usecases.ingest.upload import dispatch_after_commit
from usecases.publishing import PublishRefused, publish

router = APIRouter(tags=["pathways"])

YAML_MEDIA_TYPES = frozenset({"text/yaml", "application/yaml", "application/x-yaml", "text/x-yaml"})


def _summary(row: PathwayVersion) -> dict[str, Any]:
    return {
        "id": row.pathway_id,
        "title": row.title,
        "version": row.version,
        "sha256": row.sha256,
        "published_at": iso(row.published_at),
        "published_by": row.published_by,
    }


def _details(pathway: Pathway) -> dict[str, Any]:
    schedule = None
    if pathway.schedule is not None:
        overdue = pathway.schedule.overdue_after
        schedule = {
            "every": pathway.schedule.every.text,
            "overdue_after": overdue.text if overdue is not None else None,
        }
    return {
        "owner": pathway.owner,
        "description": pathway.description,
        "questionnaires": list(pathway.questionnaires),
        "observations": dict(pathway.observation_units),
        "schedule": schedule,
        "thresholds": {
            name: {
                "value": number(t.value),
                "min": number(t.min),
                "max": number(t.max),
                "doc": t.doc,
                "per_patient": t.tunable,
            }
            for name, t in pathway.thresholds.items()
        },
        "rules": [{"id": r.id, "level": r.level.label} for r in pathway.rules],
    }


@router.get("/api/pathways")
def list_pathways(principal: Staff, session: DbSession) -> dict[str, Any]:
    """The pathways in force that this token is granted, with version and SHA-256."""
    rows = [r for r in latest_rows(session) if principal.may_see_pathway(r.pathway_id)]
    return {"pathways": [_summary(row) for row in rows]}


@router.get("/api/pathways/{pathway_id}")
def read_pathway(
    pathway_id: str, principal: Staff, session: DbSession, version: int | None = None
) -> dict[str, Any]:
    """One pathway (in force, or ``?version=N``): thresholds, schedule, file, history."""
    if not principal.may_see_pathway(pathway_id):
        raise forbidden(f"pathway {pathway_id!r} is not granted to this token")
    row = version_row(session, pathway_id, version)
    if row is None:
        raise HTTPException(404, detail="no such pathway or version")
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
    return {
        **_summary(row),
        **_details(compiled(row)),
        "in_force": history[0][0] == row.version,
        "text": row.text,
        "versions": [
            {"version": v, "sha256": sha, "published_at": iso(at), "published_by": by}
            for v, sha, at, by in history
        ],
    }


async def yaml_text(request: Request) -> str:
    """The raw request body as the YAML file's text."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in YAML_MEDIA_TYPES:
        raise HTTPException(415, detail="send the pathway file as text/yaml or application/yaml")
    try:
        return (await request.body()).decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(422, detail="the pathway file is not UTF-8 text") from None


@router.put("/api/pathways/{pathway_id}")
def put_pathway(
    pathway_id: str,
    request: Request,
    principal: Author,
    session: DbSession,
    text: Annotated[str, Depends(yaml_text)],
) -> JSONResponse:
    """Check and publish a pathway file as its new version (authors of granted pathways)."""
    if not principal.may_see_pathway(pathway_id):
        raise forbidden(f"pathway {pathway_id!r} is not granted to this token")
    try:
        published = publish(session, text, by=principal.subject, expected_id=pathway_id)
        session.commit()
    except PublishRefused as exc:
        session.rollback()
        return _refused(409 if exc.stale else 422, exc.problems)
    except IntegrityError:
        # Two authors published the same version number at the same moment: one wins.
        session.rollback()
        return _refused(
            409, [f"{pathway_id}.yaml:1:1: this version was just published by someone else"]
        )
    # Committed: the patients on this pathway are judged again with it, within a minute
    # (what is not handed over now, the periodic re-send hands over).
    dispatch_after_commit(published.rejudge, getattr(request.state, "request_id", None))
    body = {**_summary(published.row), "rejudging": len(published.rejudge)}
    return JSONResponse(body, status_code=201 if published.created else 200)


def _refused(status: int, problems: list[str]) -> JSONResponse:
    return JSONResponse(
        {"error": "the pathway file was not published", "problems": problems}, status_code=status
    )
