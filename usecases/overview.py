"""Everything a clinician's page shows of one patient, read in one unit of work: the record
and enrolments, the triage history, the newest answers beside their questions, the device
readings the granted pathways read, who has read the patient's data, and the pathways the
clinician may enrol the patient in. Each read is audited, as the API's reads are."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from fhir_adapters import AnswerText, FhirInputError, answer_texts, parse_resource
from store.db import session_scope
from store.models import AuditEvent, Reading, Resource, TriageResult
from store.notifications import Notification
from store.pathways import current_pathways
from store.tasks import FormTask
from triage import Pathway
from triage.model import ObservationInput
from usecases.access import Actor, audit, patient_pathways
from usecases.records import Record, history_in, record_in

__all__ = [
    "DEFAULT_HORIZON",
    "MAX_POINTS",
    "Answered",
    "Overview",
    "horizon",
    "observation_inputs",
    "patient_overview",
]

RESPONSES_SHOWN = 10
AUDIT_SHOWN = 200
TASKS_SHOWN = 24  # form tasks on the patient page, the newest due first
DEFAULT_HORIZON = dt.timedelta(days=28)  # how far back a chart of readings looks at least
MAX_POINTS = 5000  # the newest readings a chart draws


@dataclass(frozen=True)
class Answered:
    """A questionnaire response, each answer as the patient saw it beside its question."""

    resource: Resource
    url: str
    answers: list[AnswerText]


@dataclass(frozen=True)
class Overview:
    """What the patient page shows (``pathways``: the patient's pathways in force that the
    clinician is granted; ``enrolled``: the pathway in force of each enrolment shown;
    ``choices``: the granted pathways in force the patient is not actively enrolled in)."""

    record: Record
    results: list[TriageResult]
    pathways: dict[str, Pathway]
    answered: list[Answered]
    readings: list[Reading]
    audits: list[AuditEvent]
    enrolled: dict[str, Pathway]
    choices: dict[str, Pathway]
    tasks: list[FormTask] = field(default_factory=list)  # the newest due first
    reminders: dict[str, int] = field(default_factory=dict)  # task id -> reminders sent


def observation_inputs(pathway: Pathway, name: str) -> list[ObservationInput]:
    """The pathway's inputs that read observation ``name``."""
    return [
        spec
        for spec in pathway.inputs.values()
        if isinstance(spec, ObservationInput) and spec.observation == name
    ]


def horizon(specs: list[ObservationInput]) -> dt.timedelta:
    """How far back a chart of these inputs' readings looks: their longest window."""
    windows = [s.window.approx_timedelta() for s in specs if s.window is not None]
    return max([*windows, DEFAULT_HORIZON])


def patient_overview(actor: Actor, patient_id: str, now: dt.datetime) -> Overview:
    """The patient page's data as of ``now``; the reads are audited."""
    with session_scope() as session:
        record = record_in(session, actor, patient_id)
        results = history_in(session, actor, patient_id)
        in_force = {
            pid: p for pid, p in current_pathways(session).items() if actor.may_see_pathway(pid)
        }
        theirs = patient_pathways(session, patient_id)
        pathways = {pid: p for pid, p in in_force.items() if pid in theirs}
        answered = _answered(session, patient_id, pathways)
        readings = _readings(session, patient_id, list(pathways.values()), now)
        responses = [a.resource.id for a in answered]
        audit(session, actor, "readings.read", patient_id, responses=responses)
        session.flush()
        tasks = session.exec(
            select(FormTask)
            .where(col(FormTask.patient_id) == patient_id)
            .order_by(col(FormTask.due).desc())
            .limit(TASKS_SHOWN)
        ).all()
        sent = session.exec(
            select(Notification.task_id, sa.func.count())
            .where(
                col(Notification.task_id).in_([t.id for t in tasks]),
                col(Notification.kind) == "reminder",
            )
            .group_by(col(Notification.task_id))
        ).all()
        audits = session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.patient_id) == patient_id)
            .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
            .limit(AUDIT_SHOWN)
        ).all()
    active = {e.pathway_id for e in record.enrolments if e.active}
    return Overview(
        record=record,
        results=results,
        pathways=pathways,
        answered=answered,
        readings=readings,
        audits=list(audits),
        enrolled={
            e.pathway_id: in_force[e.pathway_id]
            for e in record.enrolments
            if e.pathway_id in in_force
        },
        choices={pid: p for pid, p in sorted(in_force.items()) if pid not in active},
        tasks=[t for t in tasks if actor.may_see_pathway(t.pathway_id)],
        reminders={task_id: int(n) for task_id, n in sent if task_id is not None},
    )


def _readings(
    session: Session, patient_id: str, pathways: list[Pathway], now: dt.datetime
) -> list[Reading]:
    """The patient's newest readings within the longest horizon of the pathways' charts,
    newest first."""
    wanted = [observation_inputs(p, name) for p in pathways for name in p.observation_units]
    if not wanted:
        return []
    since = now - max(horizon(specs) for specs in wanted)
    return list(
        session.exec(
            select(Reading)
            .where(col(Reading.patient_id) == patient_id, col(Reading.time) >= since)
            .order_by(col(Reading.time).desc())
            .limit(MAX_POINTS * 4)
        ).all()
    )


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


def _answered(session: Session, patient_id: str, pathways: dict[str, Pathway]) -> list[Answered]:
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
    shown: list[Answered] = []
    for row in rows:
        url = row.canonical_url or ""
        if not any(p.reads_questionnaire(url) for p in pathways.values()):
            continue
        try:
            parse_resource(row.body, "QuestionnaireResponse")
        except FhirInputError:
            continue
        texts = answer_texts(row.body, _stored_questionnaire(session, row, forms))
        shown.append(Answered(row, url, texts))
        if len(shown) == RESPONSES_SHOWN:
            break
    return shown
