"""Re-judging on publish: a patient's newest data judged with a newly published version."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from store.models import Enrolment, Outbox
from store.pathways import compiled, version_row
from usecases.ingest.prepare import FUTURE_REFUSED_AFTER
from usecases.judging import items
from usecases.judging.evaluation import Moment, PathwayData, judge, newest_data_time
from usecases.judging.uploads import store_results

__all__ = ["rejudge"]


def rejudge(
    session: Session, outbox: Outbox, enrolments: dict[str, Enrolment], now: dt.datetime
) -> str:
    """The patient's newest data judged with the version this row was written for
    (``enrolments``: the patient's active ones, read with the patient's lock).

    Skipped when a newer version has been published since (its own row re-judges), when
    the patient is neither enrolled nor on the pathway's list, or has no data for it."""
    row = version_row(session, str(outbox.pathway_id))
    if row is None or row.version != outbox.version:
        return "superseded"
    pathway = compiled(row)
    enrolment = enrolments.get(pathway.id)
    if enrolment is None and items.open_item(session, outbox.patient_id, pathway.id) is None:
        return "not followed"
    newest = newest_data_time(session, pathway, outbox.patient_id, now + FUTURE_REFUSED_AFTER)
    if newest is None:
        return "no data"
    moment = Moment(as_of=newest)
    data = PathwayData(session, pathway, outbox.patient_id, [moment])
    judgement = judge(data, moment, enrolment.thresholds if enrolment else None, now)
    key = f"rejudge:{pathway.id}:{pathway.version}:{outbox.patient_id}"
    judged = store_results(
        session, pathway, outbox.patient_id, [judgement], [key], ["rejudge"], now
    )
    items.apply_results(
        session,
        patient_id=outbox.patient_id,
        pathway_id=pathway.id,
        judged=judged,
        now=now,
        may_open=False,
        kind="rejudge",
    )
    return judgement.level.label
