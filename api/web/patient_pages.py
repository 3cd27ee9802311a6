"""The patient page: triage history, answers beside their questions, readings as charts,
enrolments with the patient's own thresholds, and who has read the patient's data."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, col, select

from api import patients as patients_api
from api.auth import DbSession, Principal, audit
from api.schemas import EnrolmentBody, number
from api.web.charts import chart_data
from api.web.i18n import OSLO, Words, parse_time
from api.web.pages import Clinician, Form, WebRoute, language, render
from fhir_adapters import FhirInputError, answer_texts, parse_resource
from store.models import AuditEvent, Resource
from store.pathways import compiled, current_pathways, version_row
from triage import Pathway

router = APIRouter(route_class=WebRoute)

RESPONSES_SHOWN = 10
AUDIT_SHOWN = 200


def _granted_pathways(
    session: Session, principal: Principal, patient_id: str
) -> dict[str, Pathway]:
    in_force = current_pathways(session)
    theirs = patients_api.patient_pathways(session, patient_id)
    return {
        pid: p for pid, p in in_force.items() if pid in theirs and principal.may_see_pathway(pid)
    }


def _stored_questionnaire(
    session: Session, response: Resource, cache: dict[tuple[str, str], dict[str, Any] | None]
) -> dict[str, Any] | None:
    """The Questionnaire a response answers: ``Questionnaire/{id}`` as stored, else the
    newest stored with its canonical url (the one with its ``|version`` when there is one)."""
    named = str(response.body.get("questionnaire") or "").strip()
    if named.startswith("Questionnaire/"):
        row = session.get(Resource, named.removeprefix("Questionnaire/").split("/", 1)[0])
        if row is not None and row.resource_type == "Questionnaire":
            return dict(row.body)
    url, _, version = named.partition("|")
    url = response.canonical_url or url
    key = (url, version)
    if key not in cache:
        bodies = session.exec(
            select(Resource.body)
            .where(
                col(Resource.resource_type) == "Questionnaire",
                col(Resource.canonical_url) == url,
            )
            .order_by(col(Resource.received_at).desc(), col(Resource.id).desc())
        ).all()
        same = [b for b in bodies if version and str(b.get("version") or "") == version]
        found = same or list(bodies)
        cache[key] = dict(found[0]) if found else None
    return cache[key]


def _shown(text: str, code: str | None, words: Words) -> str:
    """An answer as shown; a yes/no answer in the page's language."""
    if code is None and text in ("true", "false"):
        return words("yes" if text == "true" else "no")
    return text


def _answers(
    session: Session, patient_id: str, pathways: dict[str, Pathway], words: Words
) -> list[dict[str, Any]]:
    """The newest responses the granted pathways read, each answer as the patient saw it
    (an option's display text, not its code) beside the question's text."""
    rows = session.exec(
        select(Resource)
        .where(
            col(Resource.patient_id) == patient_id,
            col(Resource.resource_type) == "QuestionnaireResponse",
        )
        .order_by(col(Resource.data_time).desc())
        .limit(RESPONSES_SHOWN * 3)
    ).all()
    forms: dict[tuple[str, str], dict[str, Any] | None] = {}
    shown = []
    for row in rows:
        url = row.canonical_url or ""
        if not any(p.reads_questionnaire(url) for p in pathways.values()):
            continue
        try:
            parse_resource(row.body, "QuestionnaireResponse")
        except FhirInputError:
            continue
        texts = answer_texts(row.body, _stored_questionnaire(session, row, forms))
        answers = [
            {
                "link_id": a.link_id,
                "question": a.question,
                "answers": [_shown(t, c, words) for t, c in zip(a.answers, a.codes, strict=True)],
            }
            for a in texts
        ]
        shown.append(
            {
                "id": row.id,
                "url": url,
                "time": row.data_time,
                "version": row.version_id,
                "withdrawn": row.withdrawn,
                "answers": answers,
            }
        )
        if len(shown) == RESPONSES_SHOWN:
            break
    return shown


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


def _enrolment_forms(session: Session, enrolments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    forms = []
    for enrolment in enrolments:
        row = version_row(session, enrolment["pathway"])
        if row is None:
            continue
        pathway = compiled(row)
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


def _enrol_choices(
    session: Session, principal: Principal, enrolments: list[dict[str, Any]]
) -> list[dict[str, str]]:
    """The pathways in force this clinician may enrol the patient in (not enrolled yet)."""
    enrolled = {e["pathway"] for e in enrolments if e["active"]}
    return [
        {"id": pid, "title": pathway.title}
        for pid, pathway in sorted(current_pathways(session).items())
        if pid not in enrolled and principal.may_see_pathway(pid)
    ]


def patient_page(
    request: Request,
    principal: Principal,
    session: Session,
    patient_id: str,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    record = patients_api.read_patient(patient_id, principal, session)
    results = patients_api.triage_history(patient_id, principal, session)["results"]
    history = collapse_history(results)
    pathways = _granted_pathways(session, principal, patient_id)
    now = dt.datetime.now(dt.UTC)
    answers = _answers(session, patient_id, pathways, Words(language(request)))
    own = {e["pathway"]: e["thresholds"] or {} for e in record["enrolments"] if e["active"]}
    charts = chart_data(session, patient_id, list(pathways.values()), now, own)
    audit(session, principal, "readings.read", patient_id, responses=[a["id"] for a in answers])
    session.commit()
    audits = session.exec(
        select(AuditEvent)
        .where(col(AuditEvent.patient_id) == patient_id)
        .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
        .limit(AUDIT_SHOWN)
    ).all()
    return render(
        request,
        "patient.html",
        code=status,
        patient=record,
        history=history,
        answers=answers,
        charts=charts,
        enrolments=_enrolment_forms(session, record["enrolments"]),
        choices=_enrol_choices(session, principal, record["enrolments"]),
        audits=audits,
        **extra,
    )


@router.get("/patients/{patient_id}")
def patient_view(
    request: Request, patient_id: str, principal: Clinician, session: DbSession
) -> HTMLResponse:
    """One patient: history, answers, charts, enrolments, audit."""
    saved = request.query_params.get("saved") == "1"
    return patient_page(request, principal, session, patient_id, saved=saved)


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
def end_enrolment(
    patient_id: str, pathway_id: str, principal: Clinician, session: DbSession
) -> Response:
    """End the patient's follow-up in a pathway, through the API's function."""
    patients_api.end_enrolment(patient_id, pathway_id, principal, session)
    return RedirectResponse(f"/app/patients/{patient_id}?saved=1", status_code=303)


@router.post("/patients/{patient_id}/enrolments")
def save_thresholds(
    request: Request, patient_id: str, principal: Clinician, session: DbSession, form: Form
) -> Response:
    """Enrol a patient, or set a patient's own thresholds, through the API's function."""
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
        return patient_page(request, principal, session, patient_id, 422, problems=problems)
    answer = patients_api.enrol(patient_id, body, principal, session)
    if answer.status_code == 422:
        problems = json.loads(bytes(answer.body))["problems"]
        return patient_page(request, principal, session, patient_id, 422, problems=problems)
    return RedirectResponse(f"/app/patients/{patient_id}?saved=1", status_code=303)
