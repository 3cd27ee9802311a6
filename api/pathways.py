"""Pathway files over HTTP: list, read (with history), and publish a new version (authors),
and the JSON they answer with. The work is done by :mod:`usecases.pathways`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field

from api.auth import Author, Staff
from api.schemas import LevelName
from api.shapes import iso
from store.models import PathwayVersion
from usecases import pathways
from usecases.enrolments import number

router = APIRouter(tags=["pathways"])

YAML_MEDIA_TYPES = frozenset({"text/yaml", "application/yaml", "application/x-yaml", "text/x-yaml"})


class PathwaySummary(BaseModel):
    id: str
    title: str
    version: int
    sha256: str = Field(description="of the pathway file's text")
    published_at: str | None
    published_by: str | None

    @staticmethod
    def fields_of(row: PathwayVersion) -> dict[str, Any]:
        return {
            "id": row.pathway_id,
            "title": row.title,
            "version": row.version,
            "sha256": row.sha256,
            "published_at": iso(row.published_at),
            "published_by": row.published_by,
        }


class Pathways(BaseModel):
    pathways: list[PathwaySummary] = Field(description="in force, granted to the caller")


class Published(PathwaySummary):
    rejudging: int = Field(description="patients to be judged again with this version")


class Schedule(BaseModel):
    every: str = Field(description="ISO 8601 duration from one questionnaire to the next")
    overdue_after: str | None


class Threshold(BaseModel):
    value: int | float
    min: int | float | None
    max: int | float | None
    doc: str | None
    per_patient: bool = Field(description="a patient may have their own value, min to max")


class RuleLevel(BaseModel):
    id: str
    level: LevelName


class PublishedVersion(BaseModel):
    version: int
    sha256: str
    published_at: str | None
    published_by: str | None


class PathwayDetails(PathwaySummary):
    owner: str | None
    description: str | None
    questionnaires: list[str] = Field(description="canonical urls of the forms it reads")
    observations: dict[str, str] = Field(description="the unit of each reading it reads")
    schedule: Schedule | None
    thresholds: dict[str, Threshold]
    rules: list[RuleLevel]
    in_force: bool = Field(description="this version is the newest")
    text: str = Field(description="the pathway file (YAML)")
    versions: list[PublishedVersion] = Field(description="every version, newest first")

    @classmethod
    def of(cls, found: pathways.Details) -> PathwayDetails:
        pathway = found.pathway
        schedule = None
        if pathway.schedule is not None:
            overdue = pathway.schedule.overdue_after
            schedule = {
                "every": pathway.schedule.every.text,
                "overdue_after": overdue.text if overdue is not None else None,
            }
        thresholds = {
            name: {
                "value": number(t.value),
                "min": number(t.min),
                "max": number(t.max),
                "doc": t.doc,
                "per_patient": t.tunable,
            }
            for name, t in pathway.thresholds.items()
        }
        versions = [
            {
                "version": v.version,
                "sha256": v.sha256,
                "published_at": iso(v.published_at),
                "published_by": v.published_by,
            }
            for v in found.history
        ]
        return cls.model_validate(
            {
                **PathwaySummary.fields_of(found.row),
                "owner": pathway.owner,
                "description": pathway.description,
                "questionnaires": list(pathway.questionnaires),
                "observations": dict(pathway.observation_units),
                "schedule": schedule,
                "thresholds": thresholds,
                "rules": [{"id": r.id, "level": r.level.label} for r in pathway.rules],
                "in_force": found.in_force,
                "text": found.row.text,
                "versions": versions,
            }
        )


@router.get("/api/pathways", response_model=Pathways)
def list_pathways(principal: Staff) -> Pathways:
    """The pathways in force that this token is granted, with version and SHA-256."""
    rows = pathways.list_pathways(principal)
    return Pathways(
        pathways=[PathwaySummary.model_validate(PathwaySummary.fields_of(r)) for r in rows]
    )


@router.get("/api/pathways/{pathway_id}", response_model=PathwayDetails)
def read_pathway(pathway_id: str, principal: Staff, version: int | None = None) -> PathwayDetails:
    """One pathway (in force, or ``?version=N``): thresholds, schedule, file, history."""
    return PathwayDetails.of(pathways.read_pathway(principal, pathway_id, version))


async def yaml_text(request: Request) -> str:
    """The raw request body as the YAML file's text."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in YAML_MEDIA_TYPES:
        raise HTTPException(415, detail="send the pathway file as text/yaml or application/yaml")
    try:
        return (await request.body()).decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(422, detail="the pathway file is not UTF-8 text") from None


@router.put(
    "/api/pathways/{pathway_id}",
    response_model=Published,
    responses={201: {"model": Published, "description": "a new version"}},
)
def put_pathway(
    pathway_id: str,
    request: Request,
    response: Response,
    principal: Author,
    text: Annotated[str, Depends(yaml_text)],
) -> Published:
    """Check and publish a pathway file as its new version (authors of granted pathways)."""
    request_id = getattr(request.state, "request_id", None)
    published = pathways.publish_pathway(principal, pathway_id, text, request_id)
    response.status_code = 201 if published.created else 200
    fields = PathwaySummary.fields_of(published.row)
    return Published.model_validate({**fields, "rejudging": len(published.rejudge)})
