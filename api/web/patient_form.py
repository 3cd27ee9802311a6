"""The web form for patients without an app: ``/skjema/{token}`` (no sign-in: the signed
link is the credential). The page, its errors and the thank-you page are rendered on the
server and work without JavaScript; ``form.js`` only hides the items ``enableWhen`` turns
off and fetches the patient's message when triage is done.

A link that gives nothing (altered or unknown: 404; expired, cancelled or used: 410) says
so and offers nothing else; the rate limit counts those answers per address
(:mod:`api.security`). The words are bokmål, as the Questionnaires' texts.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from api.web.pages import Form, templates
from fhir_adapters import FhirInputError
from usecases.errors import Refused
from usecases.patient_form import FormClosed, FormView, open_form, outcome, submit_form
from usecases.patient_form.items import Item, Option, walk

router = APIRouter(prefix="/skjema", include_in_schema=False)

WORDS = {
    "service": "Behovsstyrt poliklinikk",
    "skip": "Hopp til skjemaet",
    "intro": "Svar på spørsmålene og trykk «Send svarene». Svarene leses av helsepersonell.",
    "required": "må besvares",
    "calculated": "regnes ut av svarene dine når du sender",
    "yes": "Ja",
    "no": "Nei",
    "send": "Send svarene",
    "error": "Feil",
    "error_title": "Noe må rettes før svarene kan sendes",
    "thanks": "Takk for svarene",
    "received": "Svarene dine er mottatt.",
    "waiting": "Vi ser på svarene nå. Meldingen til deg kommer her om litt.",
    "refresh": "Se om meldingen er kommet",
    "no_message": "Behandleren din tar kontakt om det trengs.",
    "not_received": "Svarene kunne ikke tas imot. Kontakt poliklinikken.",
}
CLOSED = {
    "invalid": (404, "Lenken er ikke gyldig", "Denne lenken er ikke gyldig."),
    "expired": (410, "Lenken er utløpt", "Denne lenken er utløpt og kan ikke brukes lenger."),
    "used": (410, "Skjemaet er sendt", "Denne lenken er brukt: svarene er allerede sendt."),
}


def _page(name: str, code: int = 200, lang: str = "nb", **context: Any) -> HTMLResponse:
    html = templates.get_template(name).render(words=WORDS, lang=lang, **context)
    return HTMLResponse(html, status_code=code)


def too_many_tries(seconds: int) -> HTMLResponse:
    """The rate limit's answer to a browser: nothing of the form, only when to try again."""
    text = f"For mange forsøk med ugyldige lenker. Prøv igjen om {seconds} sekunder."
    return _page("skjema_closed.html", 429, heading="For mange forsøk", text=text)


def closed_page(closed: FormClosed) -> HTMLResponse:
    code, heading, text = CLOSED[closed.why]
    return _page("skjema_closed.html", code, heading=heading, text=text)


def _form_page(
    token: str, view: FormView, code: int = 200, problem: str | None = None
) -> HTMLResponse:
    errors = view.answers.errors
    error_list = [
        (i.field_id, f"{i.text}: {errors[i.field_id]}")
        for i in walk(view.items)
        if i.field_id in errors
    ]
    return _page(
        "skjema.html",
        code,
        lang=view.language,
        view=view,
        answers=view.answers,
        errors=errors,
        error_list=error_list,
        conditions=conditions_for_script(view.items),
        action=f"/skjema/{token}",
        problem=problem,
    )


@router.get("/{token}")
def form_page(token: str) -> Response:
    """The form, empty."""
    try:
        return _form_page(token, open_form(token))
    except FormClosed as closed:
        return closed_page(closed)


@router.post("/{token}")
def form_submit(token: str, request: Request, fields: Form) -> Response:
    """Answers checked: the form again with errors (422), or stored and judged (303 to the
    thank-you page)."""
    try:
        view = submit_form(token, fields, getattr(request.state, "request_id", None))
    except FormClosed as closed:
        return closed_page(closed)
    except (Refused, FhirInputError):  # ingest refused it (a pathway cannot read an answer)
        view = open_form(token)
        return _form_page(token, view, 422, problem=WORDS["not_received"])
    if view.answers.errors:
        return _form_page(token, view, 422)
    return RedirectResponse(f"/skjema/{token}/takk", status_code=303)


@router.get("/{token}/takk")
def thanks_page(token: str) -> Response:
    """Thanks, and the pathway's message to the patient once triage is done (never a level)."""
    try:
        said = outcome(token)
    except FormClosed as closed:
        return closed_page(closed)
    return _page(
        "skjema_takk.html",
        outcome=said,
        status_url=f"/skjema/{token}/status",
        takk_url=f"/skjema/{token}/takk",
    )


@router.get("/{token}/status")
def status(token: str) -> Response:
    """``{"judged": bool, "messages": [...]}`` for the thank-you page's script."""
    try:
        said = outcome(token)
    except FormClosed as closed:
        code = CLOSED[closed.why][0]
        return JSONResponse({"error": CLOSED[closed.why][2]}, status_code=code)
    return JSONResponse({"judged": said.judged, "messages": list(said.messages)})


def conditions_for_script(items: list[Item]) -> dict[str, str]:
    """Each conditional item's ``enableWhen`` as the form's script reads it (JSON): the
    question's field id and kind, and the value as the form's field would hold it."""
    by_link = {item.link_id: item for item in walk(items)}
    out: dict[str, str] = {}
    for item in walk(items):
        if not item.conditions:
            continue
        rules = []
        for c in item.conditions:
            question = by_link.get(c.question)
            if question is None:
                rules.append({"field": "", "op": c.operator, "kind": "", "value": None})
                continue
            rules.append(
                {
                    "field": question.field_id,
                    "op": c.operator,
                    "kind": question.kind,
                    "value": _script_value(question, c.answer),
                }
            )
        out[item.field_id] = json.dumps({"behavior": item.behavior, "rules": rules})
    return out


def _script_value(question: Item, answer: Any) -> Any:
    if question.kind in ("choice", "open-choice"):  # the indexes of the matching options
        return [str(n) for n, option in enumerate(question.options) if _matches(option, answer)]
    if isinstance(answer, bool) and question.kind == "boolean":
        return "true" if answer else "false"
    return answer if isinstance(answer, bool) else str(answer)


def _matches(option: Option, answer: Any) -> bool:
    (_, inner), *_ = option.value.items()
    if isinstance(inner, dict) or isinstance(answer, dict):
        both = isinstance(inner, dict) and isinstance(answer, dict)
        return both and inner.get("code") == answer.get("code")
    return str(inner) == str(answer)
