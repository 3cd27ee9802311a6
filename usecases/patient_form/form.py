"""The web form for patients without an app, as use cases: open the form a link names,
submit it (through the SAME ingest as ``POST /fhir/QuestionnaireResponse``), and tell what
triage said to the patient once it has judged.

The link's token is the credential (:mod:`usecases.patient_form.link`). The response
carries the identifier ``FORM_TASK_SYSTEM|<task id>``: the UNIQUE key on a resource's
identifier stores one response per task (a second submit, even at the same instant, finds
the first), and that stored response is what makes the link "used". A task whose answer
was taken back (withdrawn, docs/tasks.md) is ready again with a higher version: its next
answer carries ``<task id>:<version>``, so the same link takes one answer again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sqlmodel import Session, col, select

from runtime import clock
from store.db import session_scope
from store.models import Resource, TriageResult
from store.tasks import FormTask
from usecases.ingest.checks import Context
from usecases.ingest.upload import Caller, ingest
from usecases.patient_form.answers import FormAnswers, read_answers, response_items
from usecases.patient_form.items import Item, parse_items
from usecases.patient_form.link import BadLink, ExpiredLink, FormTaskView, read_token, view_of

FORM_TASK_SYSTEM = "urn:behovsstyrt-triage:form-task"
Closed = Literal["invalid", "expired", "used"]


# --- JOIN POINT: the form tasks -------------------------------------------------------------
def load_task(session: Session, task_id: str) -> FormTaskView | None:
    """The form task ``task_id`` (``store.tasks.FormTask``) as the form sees it, or None
    when there is none."""
    row = session.get(FormTask, task_id)
    return view_of(row) if row is not None else None


# --------------------------------------------------------------------------------------------


class FormClosed(Exception):
    """The link gives nothing: ``invalid`` (altered, unknown), ``expired`` or ``used``."""

    def __init__(self, why: Closed) -> None:
        super().__init__(why)
        self.why: Closed = why


@dataclass
class FormView:
    """What the page shows: the task, the Questionnaire's title, language and items."""

    task: FormTaskView
    title: str
    language: str
    items: list[Item]
    answers: FormAnswers = field(default_factory=FormAnswers)


@dataclass(frozen=True)
class Outcome:
    """After submitting: ``judged`` once triage has looked; the patient's ``messages``."""

    judged: bool
    messages: tuple[str, ...] = ()


def open_form(token: str) -> FormView:
    """The form the link names; raise :class:`FormClosed`."""
    with session_scope() as session:
        return _open(session, token)


def submit_form(token: str, fields: dict[str, str], request_id: str | None = None) -> FormView:
    """Check the answers; with errors, the form back with them (nothing stored); else the
    QuestionnaireResponse ingested as the patient would post it. Raise :class:`FormClosed`
    (also when another submit of the same link won)."""
    with session_scope() as session:
        view = _open(session, token)
    view.answers = read_answers(view.items, fields)
    if view.answers.errors:
        return view
    entry = ingest(
        _response(view),
        "QuestionnaireResponse",
        Caller(patient_id=view.task.patient_id),
        request_id=request_id,
    )
    if not entry.created:
        raise FormClosed("used")
    return view


def outcome(token: str) -> Outcome:
    """What triage said to the patient about the response this link sent (expiry aside:
    the thank-you page may outlive the task's period by a moment)."""
    try:
        claims = read_token(token)
    except ExpiredLink as exc:
        claims = exc.claims
    except BadLink:
        raise FormClosed("invalid") from None
    with session_scope() as session:
        task = load_task(session, claims.task_id)
        stored = None
        if task is not None:
            stored = (
                session.get(Resource, task.response_id)
                if task.response_id
                else _stored_response(session, answer_key(task))
            )
        if stored is None or stored.patient_id != claims.patient_id:
            raise FormClosed("invalid")
        rows = session.exec(
            select(TriageResult.result).where(TriageResult.resource_id == stored.id)
        ).all()
        judged = bool(rows) or stored.routed is False
    said: list[str] = []
    for result in rows:
        message = (result or {}).get("patient_message")
        if isinstance(message, str) and message.strip() and message not in said:
            said.append(message)
    return Outcome(judged, tuple(said))


def _open(session: Session, token: str) -> FormView:
    try:
        claims = read_token(token)
    except BadLink:
        raise FormClosed("invalid") from None
    except ExpiredLink:
        raise FormClosed("expired") from None
    task = load_task(session, claims.task_id)
    if task is None or task.patient_id != claims.patient_id:
        raise FormClosed("invalid")
    if task.status == "completed" or _stored_response(session, answer_key(task)) is not None:
        raise FormClosed("used")
    if task.status != "ready" or clock.now() >= task.period_end:
        raise FormClosed("expired")
    questionnaire = Context(session).questionnaire(task.questionnaire, task.version)
    if questionnaire is None:
        raise FormClosed("invalid")
    return FormView(
        task=task,
        title=str(questionnaire.get("title") or questionnaire.get("name") or "Skjema"),
        language=str(questionnaire.get("language") or "nb").split("-")[0],
        items=parse_items(questionnaire),
    )


def answer_key(task: FormTaskView) -> str:
    """The identifier value of this round's answer to the task: its id, and its version
    once it has been reopened."""
    return task.task_id if task.version_id == 1 else f"{task.task_id}:{task.version_id}"


def _stored_response(session: Session, value: str) -> Resource | None:
    key = f"identifier={FORM_TASK_SYSTEM}|{value}"
    return session.exec(
        select(Resource).where(
            Resource.resource_type == "QuestionnaireResponse", col(Resource.dedup_key) == key
        )
    ).first()


def _response(view: FormView) -> dict[str, Any]:
    task = view.task
    canonical = f"{task.questionnaire}|{task.version}" if task.version else task.questionnaire
    response: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "identifier": {"system": FORM_TASK_SYSTEM, "value": answer_key(task)},
        "questionnaire": canonical,
        "status": "completed",
        "subject": {"reference": f"Patient/{task.patient_id}"},
        "authored": clock.now().isoformat(),
    }
    items = response_items(view.items, view.answers)
    if items:  # FHIR JSON has no empty arrays: a form sent with nothing answered has none
        response["item"] = items
    return response
