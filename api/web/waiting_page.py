"""The page "Venter på svar" (waiting for an answer): patients whose form task is ready,
the earliest due first, from :func:`usecases.tasks.waiting` (the same list as
``GET /api/worklist/waiting``), linked from the worklist and the menu."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.web.i18n import add_texts
from api.web.pages import Clinician, WebRoute, render
from usecases import tasks

router = APIRouter(route_class=WebRoute)

add_texts(
    {
        "nb": {
            "waiting": "Venter på svar",
            "waiting_intro": (
                "Pasienter som har fått et skjema og ikke svart ennå, det eldste først. "
                "Etter svarfristen står de også på arbeidslisten som gule."
            ),
            "waiting_due": "Sendt",
            "waiting_until": "Svarfrist",
            "waiting_reminders": "Påminnelser",
            "waiting_late": "Over svarfristen",
            "waiting_in_time": "Innen fristen",
            "waiting_none": "Ingen venter på svar.",
        },
        "en": {
            "waiting": "Waiting for an answer",
            "waiting_intro": (
                "Patients who were sent a form and have not answered yet, the oldest first. "
                "After the answer-by date they are on the worklist as yellow too."
            ),
            "waiting_due": "Sent",
            "waiting_until": "Answer by",
            "waiting_reminders": "Reminders",
            "waiting_late": "Past the answer-by date",
            "waiting_in_time": "In time",
            "waiting_none": "Nobody is waiting to answer.",
        },
    }
)


@router.get("/waiting")
def waiting_page(request: Request, principal: Clinician) -> HTMLResponse:
    """The patients waiting to answer a form, in the pathways the clinician is granted."""
    return render(request, "waiting.html", rows=tasks.waiting(principal, None, 500))
