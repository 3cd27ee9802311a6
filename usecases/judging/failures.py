"""An outbox row that could not be triaged, shown instead: yellow "could not be triaged"
on the pathways it was meant for."""

from __future__ import annotations

import datetime as dt
import logging

from sqlmodel import Session, select

from runtime import clock, metrics
from runtime.logs import adopt_request_id
from store.models import Enrolment, Outbox, Resource
from store.pathways import pathways_in_force
from triage import Level, Pathway
from triage.worklist import due_time, failed_text
from usecases.judging import items
from usecases.judging.enrolments import active_enrolments
from usecases.judging.retry import with_conflict_retry
from usecases.judging.routing import routes_of

__all__ = ["MissingData", "describe_error", "record_failure"]

log = logging.getLogger(__name__)


class MissingData(RuntimeError):
    """An outbox row names data that is not in the database."""


def describe_error(exc: BaseException) -> str:
    """A key of ``triage.worklist.FAILURES``: never the message, which may quote patient data."""
    return "missing-data" if isinstance(exc, MissingData) else "internal"


def record_failure(outbox_id: int, why: str, attempts: int, error: str = "") -> list[str]:
    """Show a row that could not be triaged: yellow "could not be triaged" per pathway.

    ``why`` is a key of ``triage.worklist.FAILURES`` (the words shown), ``error`` an
    exception type for ``Outbox.last_error``: neither carries patient data. The pathways
    are those that read the upload, else those the patient is enrolled in, else
    ``unknown``. Returns the item ids; a row already done changes nothing.
    """
    marked: list[bool] = []
    made = with_conflict_retry(
        lambda session: _record_failure(session, outbox_id, why, attempts, error, marked)
    )
    if marked:  # committed, and counted once however often the transaction ran
        metrics.TASKS_FAILED.labels(why).inc()
    return made


def _record_failure(
    session: Session, outbox_id: int, why: str, attempts: int, error: str, marked: list[bool]
) -> list[str]:
    outbox = session.get(Outbox, outbox_id, with_for_update=True)
    if outbox is None or outbox.done_at is not None:
        return []
    adopt_request_id(outbox.request_id)
    marked[:] = [True]
    now = clock.now()
    outbox.failed = True
    outbox.last_error = f"{why}: {error} (after {attempts} attempts)"
    outbox.attempts = max(outbox.attempts, attempts)
    outbox.done_at = now
    session.add(outbox)
    pathways = pathways_in_force(session)
    targets = _failure_pathways(session, outbox, pathways)
    sources = [{"resourceType": "Outbox", "id": str(outbox_id)}]
    made = []
    for pathway_id in targets:
        pathway = pathways.get(pathway_id)
        language = pathway.language if pathway is not None else "nb"
        reason = {
            "rule": None,
            "level": Level.YELLOW.label,
            "text": failed_text(why, language),
            "kind": "failed",
            "key": f"failed:{outbox_id}",
            "at": outbox.created.astimezone(dt.UTC).isoformat(),
        }
        item = items.apply_problem(
            session,
            patient_id=outbox.patient_id,
            pathway_id=pathway_id,
            kind="failed",
            reason=reason,
            due=due_time(Level.YELLOW, None, now),
            now=now,
            sources=sources,
        )
        if item is not None:
            made.append(item.id)
    log.warning("outbox %s marked failed on %d worklist(s)", outbox_id, len(made))
    return made


def _failure_pathways(session: Session, outbox: Outbox, pathways: dict[str, Pathway]) -> list[str]:
    if outbox.kind == "rejudge" and outbox.pathway_id:
        return [outbox.pathway_id]  # the patient's data could not be judged with the new version
    try:
        with session.begin_nested():  # a savepoint: a failure here must not spoil the rest
            query = select(Resource).where(Resource.id.in_(outbox.resource_ids))  # type: ignore[attr-defined]
            routing = routes_of(session, list(session.exec(query)), pathways)
            # The pathways it would have been judged on: the enrolled readers, else all readers.
            found = sorted(routing.per_pathway(set(active_enrolments(session, outbox.patient_id))))
    except Exception:  # the failure may lie in routing itself; fall back to enrolments
        found = []
    if found:
        return found
    enrolled = session.exec(
        select(Enrolment.pathway_id).where(
            Enrolment.patient_id == outbox.patient_id,
            Enrolment.active == True,  # noqa: E712
        )
    ).all()
    return sorted(enrolled) or ["unknown"]
