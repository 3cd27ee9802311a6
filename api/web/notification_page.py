"""The page "Varsler" (/app/notifications): the events sent, or to be sent, to patients of
the pathways granted to the signed-in clinician, by status, with attempts and the last
error. Read through the same use case as ``GET /api/notifications``, so the same rules
decide who sees what and the same audit records it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.notifications import Notification
from api.web.i18n import add_texts, parse_time
from api.web.pages import Clinician, WebRoute, render
from store.notifications import STATUSES
from usecases import notifications

router = APIRouter(route_class=WebRoute)

NOTIFICATION_TEXTS: dict[str, dict[str, str]] = {
    "nb": {
        "notifications": "Varsler",
        "notifications_intro": (
            "Varsler til pasienter: skjema klart, påminnelse, svar klart. Varslene har ingen"
            " helseopplysninger, bare id-er og lenken til skjemaet."
        ),
        "kind": "Type",
        "kind_task-ready": "Skjema klart",
        "kind_reminder": "Påminnelse",
        "kind_result-ready": "Svar klart",
        "n_status_pending": "Venter",
        "n_status_sent": "Sendt",
        "n_status_logged": "Logget (ingen kanal satt opp)",
        "n_status_failed": "Feilet",
        "created": "Laget",
        "next_attempt": "Neste forsøk",
        "show": "Vis",
        "no_notifications": "Ingen varsler.",
    },
    "en": {
        "notifications": "Notifications",
        "notifications_intro": (
            "Notifications to patients: form ready, reminder, result ready. They carry no"
            " health data, only ids and the link to the form."
        ),
        "kind": "Kind",
        "kind_task-ready": "Form ready",
        "kind_reminder": "Reminder",
        "kind_result-ready": "Result ready",
        "n_status_pending": "Pending",
        "n_status_sent": "Sent",
        "n_status_logged": "Logged (no channel configured)",
        "n_status_failed": "Failed",
        "created": "Created",
        "next_attempt": "Next attempt",
        "show": "Show",
        "no_notifications": "No notifications.",
    },
}


add_texts(NOTIFICATION_TEXTS)


@router.get("/notifications")
def notifications_page(
    request: Request, principal: Clinician, status: str | None = None
) -> HTMLResponse:
    """The newest events, failed first when asked (``?status=failed``)."""
    chosen = status if status in STATUSES else None
    rows = notifications.read_notifications(principal, chosen, limit=500)
    shown: list[dict[str, Any]] = []
    for row in rows:
        item = Notification.of(row).model_dump()
        item["created_at"] = parse_time(item["created"])
        item["next_at"] = parse_time(item["next_attempt"]) if item["next_attempt"] else None
        shown.append(item)
    return render(
        request, "notifications.html", notifications=shown, statuses=STATUSES, chosen=chosen
    )
