"""Shadow judging: each upload a pathway judged, judged again with its shadow version.

A shadow version (``PUT /api/pathways/{id}?mode=shadow``) judges live data beside the
version in force, for its authors to compare before promoting it. The uploads it judges are
the ones the active version judged in the same job (same routing, same patient thresholds),
each as of its own time; the results go to ``shadowresult`` and nowhere else: no worklist
item, event, patient answer or statistic reads that table.

It runs after the active job has committed, in a transaction of its own, so it can neither
fail nor hold back the active judging: an error is logged (ids and the error's type only)
and counted (``triage_shadow_failed_total``), and the upload simply has no shadow result.
A job delivered again finds its outbox row done and judges nothing, and the UNIQUE
``task_key`` stops a second result for the same upload version: at most once per upload.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from runtime import clock, metrics
from store.db import session_scope
from store.models import Resource, new_id
from store.trials import ShadowResult
from triage import Pathway
from usecases.judging.evaluation import Moment, PathwayData, judge
from usecases.judging.uploads import result_row

__all__ = ["ShadowWork", "judge_shadows"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShadowWork:
    """What the active version of one pathway judged in one job, for its shadow version."""

    shadow: Pathway
    patient_id: str
    thresholds: dict[str, Any] | None
    resources: list[str]  # upload ids
    owner: dict[str, int]  # upload id -> its outbox row
    extra: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by upload


def judge_shadows(works: list[ShadowWork]) -> None:
    """Judge each work with its shadow version, one transaction each; never raises."""
    for work in works:
        try:
            with session_scope() as session:
                stored = _judge(session, work, clock.now())
            metrics.SHADOW_JUDGED.inc(stored)
        except Exception as exc:  # the active judging must never notice
            metrics.SHADOW_FAILED.inc()
            boxes = sorted(set(work.owner.values()))
            log.warning(
                "shadow version %s of %s failed on outbox %s: %s",
                work.shadow.version,
                work.shadow.id,
                boxes,
                type(exc).__name__,
            )


def _judge(session: Session, work: ShadowWork, now: dt.datetime) -> int:
    pathway = work.shadow
    found = session.exec(select(Resource).where(col(Resource.id).in_(work.resources))).all()
    moments = [
        Moment(
            as_of=r.data_time or r.received_at,
            resource=r,
            extra=work.extra.get(r.id, []),
            arrived=r.received_at,
        )
        for r in sorted(found, key=lambda r: work.resources.index(r.id))
        if not (r.withdrawn and r.version_id > 1)  # a withdrawal is not an upload to judge
    ]
    keys = [
        f"shadow:{work.owner[m.resource.id]}:{m.resource.id}:{m.resource.version_id}:"
        f"{pathway.id}:{pathway.version}"
        for m in moments
        if m.resource is not None
    ]
    done = set(
        session.exec(select(ShadowResult.task_key).where(col(ShadowResult.task_key).in_(keys)))
    )
    todo = [(m, key) for m, key in zip(moments, keys, strict=True) if key not in done]
    if not todo:
        return 0
    data = PathwayData(session, pathway, work.patient_id, [m for m, _ in todo])
    rows = []
    for moment, key in todo:
        judgement = judge(data, moment, work.thresholds, now)
        resource = moment.resource
        assert resource is not None
        owner = work.owner[resource.id]
        rows.append(result_row(new_id("s"), key, owner, work.patient_id, pathway, judgement, now))
    session.execute(ShadowResult.__table__.insert(), rows)  # type: ignore[attr-defined]
    return len(rows)
