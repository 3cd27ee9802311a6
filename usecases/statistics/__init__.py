"""Statistics of follow-up, alert load and contacts per pathway and period (issue 12).

:func:`statistics` answers the figures of docs/statistics.md for one granted pathway (or
every granted pathway), a period of Oslo calendar days and a bucket size; the counting is
done by the database (:mod:`usecases.statistics.queries`). Every call is audited with the
pathways and the period.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from store.db import session_scope
from store.models import utcnow
from store.pathways import compiled, version_row
from usecases.access import Actor, audit, require_pathway
from usecases.statistics import overrides, queries, schedule
from usecases.statistics.buckets import Bucket, BucketSize, cut

__all__ = ["UPLOAD_TYPES", "BucketFigures", "PathwayFigures", "Statistics", "statistics"]


@dataclass(frozen=True, slots=True)
class BucketFigures:
    bucket: Bucket
    patients: dict[str, int]
    uploads: dict[str, int]
    results: dict[str, int]
    contacts: dict[str, int]
    acknowledge: dict[str, dict[str, Any]]
    red_in_time: dict[str, Any]
    overdue: int
    alert_load: dict[str, Any]
    own_thresholds: dict[str, Any]
    overrides: dict[str, dict[str, Any]]  # per rule
    scheduled: dict[str, Any] | None  # None: the pathway has no schedule


@dataclass(frozen=True, slots=True)
class PathwayFigures:
    pathway: str
    overdue_now: int
    buckets: list[BucketFigures]


@dataclass(frozen=True, slots=True)
class Statistics:
    first_day: dt.date
    last_day: dt.date
    by: BucketSize
    at: dt.datetime
    pathways: list[PathwayFigures]


def statistics(
    actor: Actor,
    pathway: str | None,
    first_day: dt.date,
    last_day: dt.date,
    by: BucketSize,
    now: dt.datetime | None = None,
) -> Statistics:
    """The figures per bucket for ``pathway`` (granted), or for every granted pathway."""
    if pathway is not None:
        require_pathway(actor, pathway)
    buckets = cut(first_day, last_day, by)
    now = now or utcnow()
    with session_scope() as session:
        if pathway is not None:
            chosen = [pathway]
        else:
            chosen = sorted(p for p in _pathways(session) if actor.may_see_pathway(p))
        table = queries.bucket_table(buckets)
        figures = [_pathway(session, table, buckets, p, now) for p in chosen]
        audit(
            session,
            actor,
            "statistics.read",
            None,
            target=pathway,
            pathways=chosen,
            first_day=first_day.isoformat(),
            last_day=last_day.isoformat(),
            by=by,
        )
    return Statistics(first_day, last_day, by, now, figures)


def _pathways(session: Session) -> set[str]:
    """Every pathway published or with enrolments (one that ended stays countable)."""
    tables = queries.TABLES
    found = sa.union(
        sa.select(tables["pathwayversion"].c.pathway_id),
        sa.select(tables["enrolment"].c.pathway_id),
    )
    return {p for (p,) in session.execute(found)}


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _pathway(
    session: Session,
    table: queries.BucketTable,
    buckets: list[Bucket],
    pathway: str,
    now: dt.datetime,
) -> PathwayFigures:
    enrolled = queries.enrolments(session, table, pathway)
    uploads = queries.uploads(session, table, pathway)
    results = queries.results(session, table, pathway)
    contacts = queries.contacts(session, table, pathway)
    acks = queries.acknowledgements(session, table, pathway)
    overdue = queries.overdue_in_buckets(session, table, pathway, now)
    load = queries.alert_load(session, table, pathway)
    overridden = overrides.overrides(session, table, pathway)
    scheduled = _scheduled(session, table, buckets, pathway, now)
    out = []
    for bucket in buckets:
        i = bucket.index
        e = enrolled.get(i, {})
        opened, people = load.get(i, {}).get("opened", 0), load.get(i, {}).get("clinicians", 0)
        red = acks.get(i, {}).get("red", {})
        rows, own = e.get("enrolments", 0), e.get("own_thresholds", 0)
        out.append(
            BucketFigures(
                bucket=bucket,
                patients={k: e.get(k, 0) for k in ("patients", "new", "ended")},
                uploads={t: uploads.get(i, {}).get(t, 0) for t in UPLOAD_TYPES},
                results={lv: results.get(i, {}).get(lv, 0) for lv in queries.LEVELS},
                contacts={c: contacts.get(i, {}).get(c, 0) for c in queries.CONTACTS},
                acknowledge={lv: _ack(acks.get(i, {}).get(lv)) for lv in queries.LEVELS},
                red_in_time={
                    "acknowledged": red.get("count", 0),
                    "in_time": red.get("in_time", 0),
                    "share": _share(red.get("in_time", 0), red.get("count", 0)),
                },
                overdue=overdue.get(i, 0),
                alert_load={
                    "opened": opened,
                    "per_day": round(opened / bucket.days, 4),
                    "clinicians": people,
                    "per_clinician": round(opened / people, 4) if people else None,
                },
                own_thresholds={"enrolments": rows, "with_own": own, "share": _share(own, rows)},
                overrides={
                    rule: {**counts, "share": _share(counts["overrides"], counts["fired"])}
                    for rule, counts in sorted(overridden.get(i, {}).items())
                },
                scheduled=None if scheduled is None else _figures(scheduled, i),
            )
        )
    return PathwayFigures(pathway, queries.overdue_now(session, pathway, now), out)


UPLOAD_TYPES = ("QuestionnaireResponse", "Observation")


def _scheduled(
    session: Session,
    table: queries.BucketTable,
    buckets: list[Bucket],
    pathway_id: str,
    now: dt.datetime,
) -> dict[str, dict[int, Any]] | None:
    """The counts on scheduled questionnaires, by the newest version's schedule; None when
    the pathway is not published or has no schedule or questionnaire."""
    row = version_row(session, pathway_id)
    pathway = compiled(row) if row is not None else None
    if pathway is None or pathway.schedule is None or not pathway.questionnaires:
        return None
    dues = schedule.chain(session, pathway)
    return {
        "due": schedule.fell_due(session, table, dues, pathway, now),
        "answered": schedule.answered(session, table, dues, pathway_id),
        "responses": schedule.responses(session, table, pathway),
        "silent": schedule.silent(session, buckets, pathway, now),
    }


def _figures(counts: dict[str, dict[int, Any]], i: int) -> dict[str, Any]:
    due = counts["due"].get(i, {"due": 0, "in_time": 0})
    done = counts["answered"].get(i, {"answered": 0, "green": 0, "avoided": 0})
    answered = done["answered"]
    return {
        "fell_due": due["due"],
        "answered_in_time": due["in_time"],
        "response_rate": _share(due["in_time"], due["due"]),
        "answered": answered,
        "green": done["green"],
        "green_share": _share(done["green"], answered),
        "avoided_visits": done["avoided"],
        "avoided_share": _share(done["avoided"], answered),
        "unscheduled_reports": counts["responses"].get(i, 0) - answered,
        "silent_patients": counts["silent"].get(i, 0),
    }


def _ack(figure: dict[str, Any] | None) -> dict[str, Any]:
    if figure is None:
        return {"count": 0, "median_hours": None, "p90_hours": None}
    return {
        "count": figure["count"],
        "median_hours": round(figure["median_seconds"] / 3600, 3),
        "p90_hours": round(figure["p90_seconds"] / 3600, 3),
    }
