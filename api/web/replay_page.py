"""The page "Prøv endring" (/app/replay), for authors: paste or upload a draft of a granted
pathway, or pick its shadow version; choose a period; see the replay report
(docs/replay.md); publish the draft as shadow or active, or promote the shadow version.

Every step calls the use case behind the API route that does the same
(``POST /api/pathways/{id}/replay``, ``GET .../replay/{job}``, ``GET .../shadow``,
``PUT /api/pathways/{id}[?mode=shadow]``, ``POST .../promote``): the same checks, refusals
and audit. As on the API, only the role ``author`` may use it."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP
from typing import Annotated
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from api.auth import Principal
from api.errors import STATUS
from api.web import replay_report
from api.web.i18n import Words, short
from api.web.pages import Clinician, WebRoute, language, render
from store.trials import ReplayJob
from usecases import pathways, shadow
from usecases.errors import Declined, Unprocessable
from usecases.replay import jobs

router = APIRouter(route_class=WebRoute)

SINCE = ("P30D", "P90D", "P365D")
NOT_UTF8 = "the uploaded file is not UTF-8 text"


def _author(request: Request, principal: Principal) -> Words:
    """The page's words, for an author; anyone else is refused as the API refuses them."""
    words = Words(language(request))
    if principal.role != "author":
        raise HTTPException(403, detail=words("authors_only"))
    return words


async def draft_fields(request: Request) -> dict[str, str]:
    """The form's fields, urlencoded or multipart (a file upload): a file's text is in the
    field of its name, and ``<name>.problem`` says when it is not UTF-8."""
    media = request.headers.get("content-type", "")
    body = await request.body()
    if not media.lower().startswith("multipart/form-data"):
        return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    head = f"Content-Type: {media}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        raw = payload if isinstance(payload, bytes) else b""
        try:
            fields[name] = raw.decode("utf-8")
        except UnicodeDecodeError:
            fields[name], fields[f"{name}.problem"] = "", NOT_UTF8
    return fields


DraftForm = Annotated[dict[str, str], Depends(draft_fields)]


def _form(
    request: Request,
    principal: Principal,
    chosen: str | None,
    fields: dict[str, str],
    problems: list[str] | None = None,
    code: int = 200,
) -> HTMLResponse:
    choices = pathways.granted_ids(principal)
    pathway = chosen if chosen in choices else (choices[0] if choices else None)
    text, version, shadow_version = "", None, None
    if pathway is not None:
        details = pathways.read_pathway(principal, pathway)
        text, version = details.row.text, details.row.version
        shadow_version = next((v.version for v in details.history if v.mode == "shadow"), None)
    period = fields.get("period") or "P90D"
    return render(
        request,
        "replay.html",
        code=code,
        choices=choices,
        pathway=pathway,
        version=version,
        shadow_version=shadow_version,
        text=fields.get("text") if fields.get("text") is not None else text,
        source=fields.get("source") or "draft",
        period=period if period in (*SINCE, "dates") else "P90D",
        since_choices=SINCE,
        first=fields.get("from", ""),
        last=fields.get("to", ""),
        problems=problems or [],
        keep=urlencode({"pathway": pathway}) if pathway else "",
    )


@router.get("/replay")
def replay_form(request: Request, principal: Clinician, pathway: str | None = None) -> HTMLResponse:
    """The form: a pathway, its draft (the version in force to start from) or its shadow
    version, and a period."""
    _author(request, principal)
    return _form(request, principal, pathway, {})


@router.post("/replay")
def start_replay(request: Request, principal: Clinician, fields: DraftForm) -> Response:
    """Start a replay job of the draft (the uploaded file when one is chosen, else the
    text), or show the shadow version's report; a broken draft comes back with its
    problems beside it (422, nothing stored)."""
    _author(request, principal)
    pathway = fields.get("pathway", "")
    if fields.get("source") == "shadow":
        return RedirectResponse(f"/app/replay/{pathway}/shadow", status_code=303)
    if problem := fields.get("file.problem"):
        return _form(request, principal, pathway, fields, [problem], 422)
    text = fields.get("file") or fields.get("text", "")
    period = fields.get("period") or "P90D"
    dates = period == "dates"
    try:
        job = jobs.start(
            principal,
            pathway,
            text,
            None if dates else period,
            fields.get("from") if dates else None,
            fields.get("to") if dates else None,
            getattr(request.state, "request_id", None),
        )
    except Unprocessable as exc:
        return _form(request, principal, pathway, fields, exc.problems or [exc.text], 422)
    return RedirectResponse(f"/app/replay/{pathway}/{job.id}", status_code=303)


@router.get("/replay/{pathway_id}/shadow")
def shadow_page(request: Request, principal: Clinician, pathway_id: str) -> HTMLResponse:
    """The shadow version's report over its live period so far, and the way to promote it."""
    words = _author(request, principal)
    found = shadow.shadow_report(principal, pathway_id)
    return render(
        request,
        "replay_job.html",
        pathway=pathway_id,
        shadow={
            "version": found.shadow.version,
            "since": short(found.since),
            "results": found.results,
            "compared": found.compared,
            "agreeing": found.agreeing,
        },
        job=None,
        **replay_report.view(found.report.to_dict(), words),
    )


def _job_page(
    request: Request,
    words: Words,
    job: ReplayJob,
    refused: Declined | None = None,
) -> HTMLResponse:
    view = replay_report.view(job.report, words) if job.status == "done" and job.report else {}
    published = request.query_params.get("published")
    mode = request.query_params.get("mode")
    return render(
        request,
        "replay_job.html",
        code=STATUS[refused.why] if refused else 200,
        pathway=job.pathway_id,
        shadow=None,
        job=job,
        refused=[refused.text, *(refused.problems or [])] if refused else [],
        published=words("published_as", version=published, mode=words(f"mode_{mode}"))
        if published and published.isdigit() and mode in ("active", "shadow")
        else "",
        **view,
    )


@router.get("/replay/{pathway_id}/{job_id}")
def job_page(request: Request, principal: Clinician, pathway_id: str, job_id: str) -> HTMLResponse:
    """A replay job: its status until it is done (the page asks again by itself), then its
    report and the ways to publish the draft."""
    words = _author(request, principal)
    return _job_page(request, words, jobs.read(principal, pathway_id, job_id))


@router.get("/replay/{pathway_id}/{job_id}/status.json")
def job_status(
    request: Request, principal: Clinician, pathway_id: str, job_id: str
) -> JSONResponse:
    """How far the job is, for the page to know when to show the report."""
    _author(request, principal)
    status, done, total = jobs.progress(principal, pathway_id, job_id)
    return JSONResponse({"status": status, "done": done, "total": total})


@router.post("/replay/{pathway_id}/{job_id}/publish")
def publish_draft(
    request: Request, principal: Clinician, pathway_id: str, job_id: str, fields: DraftForm
) -> Response:
    """Publish the job's draft as shadow or active: ``PUT /api/pathways/{id}[?mode=shadow]``'s
    use case, its refusals shown on the report."""
    words = _author(request, principal)
    mode = fields.get("mode")
    if mode not in ("active", "shadow"):
        raise HTTPException(422, detail="mode: active or shadow")
    job = jobs.read(principal, pathway_id, job_id)
    request_id = getattr(request.state, "request_id", None)
    try:
        done = pathways.publish_pathway(principal, pathway_id, job.text, request_id, mode)
    except Declined as exc:
        return _job_page(request, words, job, exc)
    query = urlencode({"published": done.row.version, "mode": done.row.mode})
    return RedirectResponse(f"/app/replay/{pathway_id}/{job_id}?{query}", status_code=303)


@router.post("/replay/{pathway_id}/promote")
def promote_shadow(request: Request, principal: Clinician, pathway_id: str) -> Response:
    """Make the shadow version the one in force (``POST /api/pathways/{id}/promote``'s use
    case); the pathways page then shows it in force."""
    _author(request, principal)
    pathways.promote_pathway(principal, pathway_id, getattr(request.state, "request_id", None))
    return RedirectResponse(f"/app/pathways?promoted={pathway_id}#pw-{pathway_id}", 303)
