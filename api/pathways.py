"""Pathway files over HTTP: list, read (with history), publish a new version, active or
shadow, promote the shadow version and read how it compares (authors), and the JSON they
answer with. The work is done by :mod:`usecases.pathways` and :mod:`usecases.shadow`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from api.auth import Author, Staff
from api.schemas import LevelName
from api.shapes import iso
from store.models import PathwayVersion
from usecases import pathways, shadow
from usecases.enrolments import number

router = APIRouter(tags=["pathways"])

Mode = Literal["active", "shadow", "retired"]
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
    mode: Literal["active", "shadow"]

    @classmethod
    def of(cls, published: pathways.Published) -> Published:
        fields = PathwaySummary.fields_of(published.row)
        return cls.model_validate(
            {**fields, "rejudging": len(published.rejudge), "mode": published.row.mode}
        )


class Schedule(BaseModel):
    every: str = Field(description="ISO 8601 duration from one questionnaire to the next")
    overdue_after: str | None
    remind_after: list[str] = Field(
        default_factory=list, description="ISO 8601 durations after the due time: reminders"
    )


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
    mode: Mode = Field(description="retired: a shadow version replaced, never promoted")


class PathwayDetails(PathwaySummary):
    owner: str | None
    description: str | None
    questionnaires: list[str] = Field(description="canonical urls of the forms it reads")
    observations: dict[str, str] = Field(description="the unit of each reading it reads")
    schedule: Schedule | None
    thresholds: dict[str, Threshold]
    rules: list[RuleLevel]
    in_force: bool = Field(description="this version is the newest active one")
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
                "remind_after": [d.text for d in pathway.schedule.remind_after],
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
                "mode": v.mode,
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
    mode: Annotated[
        Literal["active", "shadow"],
        Query(description="shadow: judge live data beside the version in force, not for it"),
    ] = "active",
) -> Published:
    """Check and publish a pathway file as its new version (authors of granted pathways).

    ``?mode=shadow`` publishes it as the pathway's shadow version instead: it judges each
    upload beside the version in force, its results reach no worklist, patient or
    statistic, and it replaces the shadow version before it (docs/judging.md)."""
    request_id = getattr(request.state, "request_id", None)
    published = pathways.publish_pathway(principal, pathway_id, text, request_id, mode)
    response.status_code = 201 if published.created else 200
    return Published.of(published)


@router.post(
    "/api/pathways/{pathway_id}/promote",
    response_model=Published,
    responses={409: {"description": "the pathway has no shadow version"}},
)
def promote_pathway(pathway_id: str, request: Request, principal: Author) -> Published:
    """Make the shadow version the one in force; what is open is re-judged with it, as
    after an active publish (authors of granted pathways; audited)."""
    request_id = getattr(request.state, "request_id", None)
    return Published.of(pathways.promote_pathway(principal, pathway_id, request_id))


class ShadowVersion(BaseModel):
    version: int
    sha256: str
    since: str | None = Field(description="when it was published as shadow")
    published_by: str | None


class ShadowReport(BaseModel):
    pathway: str
    shadow: ShadowVersion
    active_version: int | None
    results: int = Field(description="uploads judged by the shadow version so far")
    levels: dict[LevelName, int] = Field(description="the shadow results by level")
    matrix: dict[LevelName, dict[LevelName, int]] = Field(
        description="uploads by the active result's level, then the shadow result's level"
    )
    compared: int = Field(description="shadow results beside an active result of the upload")
    agreeing: int = Field(description="of those, how many have the same level")
    unpaired: int = Field(description="shadow results with no active result to compare")
    report: dict[str, Any] = Field(
        description="the replay report over the live period since the shadow version was "
        "published, made from its stored results (docs/replay.md)"
    )


@router.get(
    "/api/pathways/{pathway_id}/shadow",
    response_model=ShadowReport,
    responses={404: {"description": "no such pathway, or it has no shadow version"}},
)
def read_shadow(pathway_id: str, principal: Author) -> ShadowReport:
    """The shadow version and how its results compare with the active ones so far
    (authors of granted pathways)."""
    found = shadow.shadow_report(principal, pathway_id)
    return ShadowReport(
        pathway=pathway_id,
        shadow=ShadowVersion(
            version=found.shadow.version,
            sha256=found.shadow.sha256,
            since=iso(found.since),
            published_by=found.shadow.published_by,
        ),
        active_version=found.active.version if found.active is not None else None,
        results=found.results,
        levels=found.levels,  # type: ignore[arg-type]
        matrix=found.matrix,  # type: ignore[arg-type]
        compared=found.compared,
        agreeing=found.agreeing,
        unpaired=found.unpaired,
        report=found.report.to_dict(),
    )
