"""The patient page: triage history, answers beside their questions, readings as charts,
enrolments with the patient's own thresholds, and who has read the patient's data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api import shapes
from api.auth import Principal
from api.schemas import EnrolmentBody
from api.web.charts import chart_data
from api.web.i18n import OSLO, Words, parse_time
from api.web.pages import Clinician, Form, WebRoute, language, render
from store.tasks import FormTask
from triage import Pathway
from usecases import enrolments, overview
from usecases.enrolments import number
from usecases.errors import Unprocessable

router = APIRouter(route_class=WebRoute)


def _shown(text: str, code: str | None, words: Words) -> str:
    """An answer as shown; a yes/no answer in the page's language."""
    if code is None and text in ("true", "false"):
        return words("yes" if text == "true" else "no")
    return text


def _answers(answered: list[overview.Answered], words: Words) -> list[dict[str, Any]]:
    """The newest responses the granted pathways read, each answer as the patient saw it
    (an option's display text, not its code) beside the question's text."""
    return [
        {
            "id": shown.resource.id,
            "url": shown.url,
            "time": shown.resource.data_time,
            "version": shown.resource.version_id,
            "withdrawn": shown.resource.withdrawn,
            "answers": [
                {
                    "link_id": a.link_id,
                    "question": a.question,
                    "answers": [
                        _shown(t, c, words) for t, c in zip(a.answers, a.codes, strict=True)
                    ],
                }
                for a in shown.answers
            ],
        }
        for shown in answered
    ]


def _same(result: dict[str, Any]) -> tuple[Any, ...]:
    """What makes two results the same to a clinician reading the history."""
    return (
        result["pathway"],
        result["level"],
        result["kind"],
        result["ruleset"]["version"],
        tuple(str(r.get("text")) for r in result["reasons"]),
        tuple(str(u.get("text")) for u in result["undecided"]),
    )


def collapse_history(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive results of one pathway with the same level, reason texts, undecided
    rules, kind and version, shown once: ``count`` of them, from ``first`` (the oldest
    data) to ``time`` (the newest). ``results`` come newest data first; a pathway's run is
    shown where its newest result is, whatever other pathways' results lie between."""
    shown: list[dict[str, Any]] = []
    last: dict[str, dict[str, Any]] = {}
    for result in results:
        when = parse_time(result["data_time"]) or parse_time(result["created"])
        group = last.get(result["pathway"])
        if group is not None and group["key"] == _same(result):
            group["count"] += 1
            group["first"] = when
            continue
        group = {
            **result,
            "key": _same(result),
            "count": 1,
            "time": when,
            "first": when,
            "created_at": parse_time(result["created"]),
        }
        last[result["pathway"]] = group
        shown.append(group)
    return shown


def _enrolment_forms(
    enrolled: dict[str, Pathway], enrolments: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    forms = []
    for enrolment in enrolments:
        pathway = enrolled.get(enrolment["pathway"])
        if pathway is None:
            continue
        fields = [
            {
                "name": name,
                "value": enrolment["thresholds"].get(name, number(t.value)),
                "default": number(t.value),
                "min": number(t.min),
                "max": number(t.max),
                "doc": t.doc,
            }
            for name, t in pathway.thresholds.items()
            if t.tunable
        ]
        since = parse_time(enrolment["enrolled_at"])
        forms.append({**enrolment, "fields": fields, "title": pathway.title, "since": since})
    return forms


def patient_page(
    request: Request,
    principal: Principal,
    patient_id: str,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    now = dt.datetime.now(dt.UTC)
    seen = overview.patient_overview(principal, patient_id, now)
    patient, enrolments = seen.record.patient, seen.record.enrolments
    record = shapes.PatientRecord.of_record(patient, enrolments).model_dump()
    history = collapse_history([shapes.TriageResult.of(r).model_dump() for r in seen.results])
    own = {e["pathway"]: e["thresholds"] or {} for e in record["enrolments"] if e["active"]}
    charts = chart_data(seen.readings, list(seen.pathways.values()), now, own)
    return render(
        request,
        "patient.html",
        code=status,
        patient=record,
        history=history,
        answers=_answers(seen.answered, Words(language(request))),
        charts=charts,
        enrolments=_enrolment_forms(seen.enrolled, record["enrolments"]),
        choices=[{"id": pid, "title": p.title} for pid, p in seen.choices.items()],
        audits=seen.audits,
        tasks=[_task_row(task, now, seen.reminders.get(task.id, 0)) for task in seen.tasks],
        **extra,
    )


def _task_row(task: FormTask, now: dt.datetime, reminders: int) -> dict[str, Any]:
    """A form task as the page shows it (docs/tasks.md): waiting, overdue (still open after
    its period), answered or cancelled."""
    state = {"ready": "task_ready", "completed": "task_answered"}.get(task.status, "task_cancelled")
    if task.status == "ready" and task.until is not None and task.until <= now:
        state = "task_overdue"
    return {
        "pathway": task.pathway_id,
        "due": task.due,
        "answered_at": task.answered_at,
        "state": state,
        "reminders_sent": reminders,
    }


@router.get("/patients/{patient_id}")
def patient_view(request: Request, patient_id: str, principal: Clinician) -> HTMLResponse:
    """One patient: history, answers, charts, enrolments, audit."""
    saved = request.query_params.get("saved") == "1"
    return patient_page(request, principal, patient_id, saved=saved)


def _number(text: str) -> Any:
    try:
        value = Decimal(text.strip().replace(",", "."))
    except ArithmeticError:
        return text
    return int(value) if value == value.to_integral_value() else float(value)


def _day_start(text: str) -> dt.datetime:
    """A date input's ``YYYY-MM-DD`` as the start of that day on the Oslo clock."""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date: give it as YYYY-MM-DD") from None
    return dt.datetime.combine(day, dt.time(), tzinfo=OSLO)


def _first_problem(exc: ValueError) -> str:
    if isinstance(exc, ValidationError):
        return str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
    return str(exc)


@router.post("/patients/{patient_id}/enrolments/{pathway_id}/end")
def end_enrolment(patient_id: str, pathway_id: str, principal: Clinician) -> Response:
    """End the patient's follow-up in a pathway, through the API's use case."""
    enrolments.end_enrolment(principal, patient_id, pathway_id)
    return RedirectResponse(f"/app/patients/{patient_id}?saved=1", status_code=303)


@router.post("/patients/{patient_id}/enrolments")
def save_thresholds(
    request: Request, patient_id: str, principal: Clinician, form: Form
) -> Response:
    """Enrol a patient, or set a patient's own thresholds, through the API's use case."""
    thresholds = {
        key[2:]: _number(value)
        for key, value in form.items()
        if key.startswith("t.") and value.strip()
    }
    began = form.get("enrolled_on", "").strip()
    try:
        enrolled_at = _day_start(began) if began else None
        body = EnrolmentBody(
            pathway=form.get("pathway", ""), thresholds=thresholds, enrolled_at=enrolled_at
        )
    except ValueError as exc:
        if not form.get("pathway"):
            raise HTTPException(422, detail="choose a pathway") from None
        # A date that is not a day, or one the API refuses (ahead, before 1900).
        problems = [_first_problem(exc)]
        return patient_page(request, principal, patient_id, 422, problems=problems)
    try:
        enrolments.enrol(principal, patient_id, body.pathway, body.thresholds, body.enrolled_at)
    except Unprocessable as exc:
        return patient_page(request, principal, patient_id, 422, problems=exc.problems or [])
    return RedirectResponse(f"/app/patients/{patient_id}?saved=1", status_code=303)
