"""Judging a patient's uploads on one pathway: each as of its own time, the results
stored, the worklist item told; corrections and withdrawals noted; and a form that no
pathway reads put before a person."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from store.models import Enrolment, Resource, TriageResult, new_id
from triage import Level, Pathway
from triage.worklist import due_time, note_text
from usecases import notifications
from usecases.ingest.prepare import FUTURE_REFUSED_AFTER
from usecases.judging import items
from usecases.judging.evaluation import Judgement, Moment, PathwayData, judge, newest_data_time
from usecases.judging.routing import Routing, Work, questionnaire_url

__all__ = ["judge_uploads", "store_results", "unread_forms"]


def judge_uploads(
    session: Session,
    pathway: Pathway,
    patient_id: str,
    thresholds: dict[str, Any] | None,
    work: Work,
    owner: dict[str, int],
    now: dt.datetime,
) -> None:
    """Judge each upload the pathway reads as of its own time; put the results on the item.

    A corrected upload is judged again (its version's time) with a note of what it was; a
    withdrawn one is not judged: the patient's newest remaining data is, and the item notes
    the withdrawal. Neither lowers the item's level."""
    plan = _plan(session, pathway, work)
    moments = list(plan.moments)
    if plan.withdrawn:
        newest = newest_data_time(session, pathway, patient_id, now + FUTURE_REFUSED_AFTER)
        if newest is not None:
            moments.append(Moment(as_of=newest))
    judgements = []
    if moments:
        data = PathwayData(session, pathway, patient_id, moments)
        judgements = [judge(data, moment, thresholds, now) for moment in moments]
    judged = _store(session, pathway, patient_id, judgements, owner, plan.withdrawn, now)
    _tell_patient(session, pathway, patient_id, judgements, now)
    forms = any(
        r.resource_type == "QuestionnaireResponse" and not r.withdrawn for r in work.resources
    )
    uploads = len(plan.moments)
    items.apply_results(
        session,
        patient_id=patient_id,
        pathway_id=pathway.id,
        judged=judged,
        now=now,
        notes=plan.notes,
        clears_overdue=forms,
        may_open=uploads > 0,
        kind="triage" if uploads else "withdrawn",
    )


def _tell_patient(
    session: Session,
    pathway: Pathway,
    patient_id: str,
    judgements: list[Judgement],
    now: dt.datetime,
) -> None:
    """One "result ready" event for the uploads this job judged on the pathway whose result
    has a message for the patient, in the transaction that stores the results
    (docs/notifications.md): for the one that matters most to the patient, the worst level
    and then the newest. A Bundle of a week's blood pressures is one event, not fourteen:
    an SMS gateway sends a text for each event it gets."""
    told = [
        (j.level, j.as_of, resource)
        for j in judgements
        if (resource := j.resource) is not None and j.record.get("patient_message")
    ]
    if told:
        _, _, resource = max(told, key=lambda t: (t[0], t[1]))
        notifications.result_ready(
            session, patient_id, pathway.id, resource.id, resource.version_id, now
        )


@dataclass
class _Plan:
    """What a job judges on one pathway: each upload at its own time, the notes of
    corrections and withdrawals, and the uploads withdrawn."""

    moments: list[Moment] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    withdrawn: list[Resource] = field(default_factory=list)


def _plan(session: Session, pathway: Pathway, work: Work) -> _Plan:
    plan = _Plan()
    corrected = [r.id for r in work.resources if r.version_id > 1]
    done = _judged_versions(session, pathway.id, corrected) if corrected else set()
    for resource in work.resources:
        if (resource.id, resource.version_id) in done:
            # A correction arrived before the first upload's job ran: that job judged the
            # corrected version already (it reads the current one); once is enough.
            continue
        if resource.withdrawn and resource.version_id > 1:
            plan.withdrawn.append(resource)
            plan.notes.append(_change_note(session, "withdrawn", pathway, resource))
            continue
        plan.moments.append(
            Moment(
                as_of=resource.data_time or resource.received_at,
                resource=resource,
                extra=work.extra_reasons.get(resource.id, []),
                arrived=resource.received_at,
            )
        )
        if resource.version_id > 1:
            plan.notes.append(_change_note(session, "corrected", pathway, resource))
    return plan


def _store(
    session: Session,
    pathway: Pathway,
    patient_id: str,
    judgements: list[Judgement],
    owner: dict[str, int],
    withdrawn: list[Resource],
    now: dt.datetime,
) -> list[items.Judged]:
    """The results, each under its task key. An upload's result belongs to its own outbox
    row; the re-judgement after data was withdrawn, to the row of the (first) withdrawal."""
    boxes = [owner[(j.resource or withdrawn[0]).id] for j in judgements]
    keys = [
        f"{box}:{j.resource.id}:{pathway.id}"
        if j.resource is not None
        else f"{box}:withdrawn:{pathway.id}"
        for box, j in zip(boxes, judgements, strict=True)
    ]
    kinds = ["upload" if j.resource is not None else "withdrawn" for j in judgements]
    return store_results(session, pathway, patient_id, judgements, keys, kinds, now, boxes=boxes)


def result_row(
    result_id: str,
    key: str,
    box: int | None,
    patient_id: str,
    pathway: Pathway,
    judgement: Judgement,
    now: dt.datetime,
) -> dict[str, Any]:
    """The columns of a stored judgement: a triage result's, or a shadow version's."""
    resource = judgement.resource
    return {
        "id": result_id,
        "task_key": key,
        "outbox_id": box,
        "patient_id": patient_id,
        "pathway_id": pathway.id,
        "version": pathway.version,
        "sha256": pathway.sha256,
        "level": judgement.level.label,
        "result": judgement.record,
        "sources": judgement.sources,
        "data_time": judgement.as_of,
        "created": now,
        "resource_id": resource.id if resource is not None else None,
        "resource_version": resource.version_id if resource is not None else None,
    }


def store_results(
    session: Session,
    pathway: Pathway,
    patient_id: str,
    judgements: list[Judgement],
    keys: list[str],
    kinds: list[str],
    now: dt.datetime,
    boxes: list[int] | None = None,
) -> list[items.Judged]:
    """Insert one result row per judgement (one statement); the worklist's view of each.
    ``boxes``: the outbox row of each (none for a re-judgement).

    A second run of the same rows stops here: ``task_key`` is UNIQUE."""
    if not judgements:
        return []
    rows = []
    judged = []
    outbox_ids: list[int | None] = list(boxes) if boxes is not None else [None] * len(keys)
    for judgement, key, kind, box in zip(judgements, keys, kinds, outbox_ids, strict=True):
        result_id = new_id("r")
        row = result_row(result_id, key, box, patient_id, pathway, judgement, now)
        rows.append({**row, "kind": kind})
        at = judgement.shown_time.astimezone(dt.UTC).isoformat()
        judged.append(
            items.Judged(
                result_id=result_id,
                level=judgement.level,
                reasons=[{**r, "at": at, "result": result_id} for r in judgement.record["reasons"]],
                action=judgement.action,
                due=judgement.due,
                sources=judgement.sources,
                ruleset=judgement.record["ruleset"],
                data_time=judgement.shown_time,
                made=now,
                undecided=judgement.record.get("undecided", []),
            )
        )
    # One row (most jobs) as a plain execute: a list goes through executemany.
    session.execute(_INSERT_RESULT, rows[0] if len(rows) == 1 else rows)
    return judged


_INSERT_RESULT = TriageResult.__table__.insert()  # type: ignore[attr-defined]  # built once


def _judged_versions(
    session: Session, pathway_id: str, resource_ids: list[str]
) -> set[tuple[str, int]]:
    """(upload, version) this pathway has judged already, of these uploads."""
    found = session.exec(
        select(TriageResult.resource_id, TriageResult.resource_version).where(
            col(TriageResult.resource_id).in_(resource_ids),
            TriageResult.pathway_id == pathway_id,
            TriageResult.kind == "upload",
        )
    ).all()
    return {(str(rid), int(version or 0)) for rid, version in found}


def _prior_level(session: Session, resource_id: str, pathway_id: str) -> str | None:
    """The worst level the earlier versions of an upload were judged on a pathway."""
    levels = session.exec(
        select(TriageResult.level).where(
            TriageResult.resource_id == resource_id,
            TriageResult.pathway_id == pathway_id,
            TriageResult.kind == "upload",
        )
    ).all()
    return max(levels, key=Level.parse, default=None)


def _change_note(
    session: Session, kind: str, pathway: Pathway, resource: Resource
) -> dict[str, Any]:
    """The reason an item carries for data withdrawn or corrected: at the level that data
    was judged before (so it never raises the item, and the level it held stays)."""
    level = _prior_level(session, resource.id, pathway.id) or Level.GREEN.label
    when = resource.data_time or resource.received_at
    text = note_text(
        kind,
        pathway.language,
        when=when,
        what=f"{resource.resource_type}/{resource.id}",
        level=level,
        version=resource.version_id,
    )
    return {
        "rule": None,
        "level": level,
        "text": text,
        "kind": kind,
        "key": f"{kind}:{resource.id}:{resource.version_id}",
        "at": when.astimezone(dt.UTC).isoformat(),
    }


def unread_forms(
    session: Session,
    patient_id: str,
    resources: list[Resource],
    routing: Routing,
    pathways: dict[str, Pathway],
    enrolments: dict[str, Enrolment],
    now: dt.datetime,
) -> None:
    """A response no pathway reads, from a patient enrolled somewhere, puts the patient on
    each of their pathways' worklists as yellow: a patient filled in a form, a person must
    read it (API.md)."""
    for resource in resources:
        if resource.resource_type != "QuestionnaireResponse" or resource.withdrawn:
            continue
        if routing.readers.get(resource.id):
            continue
        when = min(resource.data_time or resource.received_at, resource.received_at)
        for pathway_id in sorted(enrolments):
            pathway = pathways.get(pathway_id)
            language = pathway.language if pathway is not None else "nb"
            reason = {
                "rule": None,
                "level": Level.YELLOW.label,
                "text": note_text("unread-form", language, form=questionnaire_url(resource)),
                "kind": "unread-form",
                "key": f"unread:{resource.id}",
                "at": when.astimezone(dt.UTC).isoformat(),
            }
            items.apply_problem(
                session,
                patient_id=patient_id,
                pathway_id=pathway_id,
                kind="unread-form",
                reason=reason,
                due=due_time(Level.YELLOW, None, when),
                now=now,
                sources=[{"resourceType": resource.resource_type, "id": resource.id}],
            )
