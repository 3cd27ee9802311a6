"""The clinicians' pages under /app: sign-in, the worklist and its actions, what triage
missed, and the pathways. Every read and change goes through the same use cases as the
JSON API, shown in the API's own shapes, so the same rules decide who sees what and the
same audit records it."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast
from urllib.parse import urlencode

import jwt
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from api import shapes
from api.auth import Principal, decode_token
from api.deps import SettingsDep
from api.pathways import PathwayDetails
from api.schemas import NoteBody, OverrideBody, ResolveBody
from api.web import notification_page, patient_pages, replay_page, results, waiting_page
from api.web.i18n import OSLO, Words, parse_time
from api.web.pages import (
    COOKIE,
    Clinician,
    Form,
    WebRoute,
    back_to,
    fragment,
    language,
    principal_from_token,
    render,
)
from runtime.settings import Settings
from usecases import pathways, records, worklist

router = APIRouter(prefix="/app", route_class=WebRoute, include_in_schema=False)
router.include_router(patient_pages.router)
router.include_router(results.router)
router.include_router(notification_page.router)
router.include_router(replay_page.router)
router.include_router(waiting_page.router)

STATUSES = ("open", "acknowledged", "resolved")
PAGE_SIZE = 500


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    """The sign-in form."""
    return render(request, "login.html")


@router.post("/login")
def login(request: Request, form: Form, settings: SettingsDep) -> Response:
    """Verify a pasted clinician token and keep it in an HttpOnly cookie."""
    principal = principal_from_token(form.get("token", ""), settings)
    if principal is None:
        words = Words(language(request))
        refused_patient = _is_patient_token(form.get("token", ""), settings)
        message = words("patient_token" if refused_patient else "bad_token")
        return render(request, "login.html", code=403 if refused_patient else 401, error=message)
    response = RedirectResponse("/app", status_code=303)
    response.set_cookie(
        COOKIE,
        form["token"].strip(),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/app",
    )
    return response


def _is_patient_token(token: str, settings: Settings) -> bool:
    try:
        return decode_token(settings, token.strip()).role == "patient"
    except jwt.InvalidTokenError:
        return False


@router.api_route("/logout", methods=["GET", "POST"])
def logout() -> RedirectResponse:
    """Forget the sign-in cookie."""
    response = RedirectResponse("/app/login", status_code=303)
    response.delete_cookie(COOKIE, path="/app", httponly=True, samesite="strict")
    return response


def _worklist(
    request: Request, principal: Principal, pathway: str | None, status: str
) -> dict[str, Any]:
    if status not in STATUSES:
        raise HTTPException(422, detail=f"unknown status {status!r}")
    page = worklist.read_worklist(principal, pathway or None, status=status, limit=PAGE_SIZE)
    now = dt.datetime.now(dt.UTC)
    words = Words(language(request))
    rows = [_row(shapes.WorklistItem.of(shown).model_dump(), words, now) for shown in page.items]
    return {
        "rows": rows,
        "contacts": worklist.CONTACTS,
        "counts": page.counts,
        "more": page.next is not None,
        "updated": now.astimezone(OSLO).strftime("%H:%M:%S"),
        "pathway": pathway or "",
        "status": status,
        "back": "/app?" + urlencode({"pathway": pathway or "", "status": status}),
    }


def _row(item: dict[str, Any], words: Words, now: dt.datetime) -> dict[str, Any]:
    due = parse_time(item["action"]["due"])
    system_value = (item["patient"]["identifier"] or "").split("|", 1)
    return {
        **item,
        "national_id": system_value[-1] if len(system_value) == 2 else None,
        "due_at": due,
        "overdue": due is not None and due < now and item["status"] != "resolved",
        "ago": words.ago(parse_time(item.get("data_time")), now),
        "contact_words": words(item["action"]["consultation"] or "none"),
        "recommended": _recommended(item),
        "newest_beside": _newest_beside(item),
        "undecided": (item.get("newest") or {}).get("undecided") or [],
    }


def _recommended(item: dict[str, Any]) -> str | None:
    """The contact the pathway recommends for the item (its action's consultation), to be
    preselected when the clinician resolves it; None when the pathway says nothing."""
    consultation = item["action"]["consultation"]
    return consultation if consultation in worklist.CONTACTS else None


def _newest_beside(item: dict[str, Any]) -> dict[str, Any] | None:
    """The newest data's result when it differs from the level the item holds (an item
    held red whose newest data is green): shown beside the held level, never instead."""
    newest = item.get("newest")
    if not newest or newest.get("level") == item["engine_level"]:
        return None
    return cast(dict[str, Any], newest)


@router.get("")
def worklist_page(
    request: Request,
    principal: Clinician,
    pathway: str | None = None,
    status: str = "open",
) -> HTMLResponse:
    """The worklist: tabs per granted pathway, red first, actions on each row."""
    data = _worklist(request, principal, pathway, status)
    tabs = pathways.granted_ids(principal)
    return render(request, "worklist.html", tabs=tabs, statuses=STATUSES, **data)


@router.get("/worklist.json")
def worklist_json(
    request: Request,
    principal: Clinician,
    pathway: str | None = None,
    status: str = "open",
) -> JSONResponse:
    """The worklist's table body, counts and time, for the page to refresh itself."""
    data = _worklist(request, principal, pathway, status)
    rows = fragment(request, "_rows.html", **data)
    return JSONResponse(
        {"rows": rows, "counts": data["counts"], "updated": data["updated"], "more": data["more"]}
    )


@router.post("/items/{item_id}/{change}")
def change_item(item_id: str, change: str, principal: Clinician, form: Form) -> Response:
    """Acknowledge, resolve (with a note and the contact that happened), override (with a
    reason) or clear an override.

    The worklist has one form around the table (1,500 per-row forms made a 500-row page
    take over 3 s to draw); each row's fields carry the item id in their names.
    """

    def field(name: str, default: str = "") -> str:
        return form.get(f"{name}-{item_id}") or form.get(name) or default

    note = field("note") or None
    try:
        if change == "acknowledge":
            worklist.acknowledge(item_id, principal, NoteBody(note=note).note)
        elif change == "resolve":
            contact = field("contact") or None  # "": the clinician recorded no contact
            closing = ResolveBody.model_validate({"note": note, "contact": contact})
            worklist.resolve(item_id, principal, closing.note, closing.contact)
        elif change == "override":
            body = OverrideBody.model_validate({"level": field("level"), "reason": field("reason")})
            worklist.override(item_id, principal, body.level, body.reason)
        elif change == "clear-override":
            worklist.clear_override(item_id, principal)
        else:
            raise HTTPException(404, detail="no such action")
    except ValidationError as exc:
        raise HTTPException(422, detail="; ".join(e["msg"] for e in exc.errors())) from None
    return back_to(form.get("back"))


@router.post("/patients/{patient_id}/identifier")
def reveal_identifier(patient_id: str, principal: Clinician) -> JSONResponse:
    """The full national id on demand: an audited read."""
    return JSONResponse({"identifier": records.reveal_identifier(principal, patient_id)})


@router.get("/unrouted")
def unrouted_page(request: Request, principal: Clinician) -> HTMLResponse:
    """Accepted data no pathway read, and triage that failed."""
    body = shapes.Unrouted.of(worklist.unrouted(principal, limit=500)).model_dump()
    for row in body["unrouted"]:
        row["received_at"] = parse_time(row["received"])
    for row in body["failed"]:
        row["created_at"] = parse_time(row["created"])
    return render(request, "unrouted.html", **body)


@router.get("/pathways")
def pathways_page(request: Request, principal: Clinician) -> HTMLResponse:
    """Each granted pathway: file, version history, thresholds in force."""
    details = [PathwayDetails.of(found).model_dump() for found in pathways.in_detail(principal)]
    for pathway in details:
        for version in pathway["versions"]:
            version["published"] = parse_time(version["published_at"])
    return render(request, "pathways.html", pathways=details)
