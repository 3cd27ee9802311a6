"""Replaying a draft pathway on the stored uploads of a period (authors; docs/replay.md):
start a job, then read its status and, when done, its report. The work is done by
:mod:`usecases.replay.jobs` and the worker."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from api.auth import Author
from api.pathways import yaml_text
from api.shapes import iso
from store.trials import ReplayJob
from usecases.replay import jobs

router = APIRouter(tags=["pathways"])


class ReplayStatus(BaseModel):
    id: str
    pathway: str
    version: int = Field(description="the draft's version")
    sha256: str = Field(description="of the draft's text")
    status: str = Field(description="queued, running, done or failed")
    period: dict[str, str] = Field(description="start and end (ISO 8601), and as asked")
    requested_by: str
    created: str | None
    started_at: str | None
    finished_at: str | None
    progress: dict[str, int] = Field(description="uploads replayed so far, of how many")
    report_url: str
    report: dict[str, Any] | None = Field(description="when done: the report (docs/replay.md)")
    error: str | None

    @classmethod
    def of(cls, job: ReplayJob) -> ReplayStatus:
        return cls(
            id=job.id,
            pathway=job.pathway_id,
            version=job.version,
            sha256=job.sha256,
            status=job.status,
            period={
                "start": iso(job.period_start) or "",
                "end": iso(job.period_end) or "",
                "asked": job.period_text,
            },
            requested_by=job.requested_by,
            created=iso(job.created),
            started_at=iso(job.started_at),
            finished_at=iso(job.finished_at),
            progress={"done": job.done_uploads, "total": job.total_uploads},
            report_url=url_of(job),
            report=job.report if job.status == "done" else None,
            error=job.error,
        )


def url_of(job: ReplayJob) -> str:
    return f"/api/pathways/{job.pathway_id}/replay/{job.id}"


@router.post(
    "/api/pathways/{pathway_id}/replay",
    status_code=202,
    response_model=ReplayStatus,
    responses={422: {"description": "the draft's problems, as FILE:LINE:COL: message"}},
)
def start_replay(
    pathway_id: str,
    request: Request,
    response: Response,
    principal: Author,
    text: Annotated[str, Depends(yaml_text)],
    since: Annotated[str | None, Query(description="ISO 8601 duration, e.g. P90D")] = None,
    start: Annotated[str | None, Query(alias="from", description="first day")] = None,
    end: Annotated[str | None, Query(alias="to", description="last day, included")] = None,
) -> ReplayStatus:
    """Replay a draft pathway file (YAML body) on the uploads stored in a period; the
    report is at ``Location`` when the job is done."""
    request_id = getattr(request.state, "request_id", None)
    job = jobs.start(principal, pathway_id, text, since, start, end, request_id)
    response.headers["Location"] = url_of(job)
    return ReplayStatus.of(job)


@router.get("/api/pathways/{pathway_id}/replay/{job_id}", response_model=ReplayStatus)
def read_replay(pathway_id: str, job_id: str, principal: Author) -> ReplayStatus:
    """A replay job: its status and progress, and the report when it is done."""
    return ReplayStatus.of(jobs.read(principal, pathway_id, job_id))
