"""Statistics of follow-up, alert load and contacts per pathway and period (issue 12).

:func:`statistics` answers the figures of docs/statistics.md for one granted pathway (or
every granted pathway), a period of Oslo calendar days and a bucket size; the counting is
done by the database: counts per pathway and Oslo day (:mod:`.refresh`, from the queries
in :mod:`.queries`, :mod:`.overrides` and :mod:`.schedule`), summed into the buckets of a
call (:mod:`.read`). Every call is audited with the pathways and the period.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from runtime.settings import get_settings
from store.db import session_scope
from store.models import utcnow
from store.pathways import compiled, version_row
from usecases.access import Actor, audit, require_pathway
from usecases.statistics import queries, read, refresh, schedule
from usecases.statistics.buckets import Bucket, BucketSize, cut
from usecases.statistics.days import NO_KEY

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
    """The figures per bucket for ``pathway`` (granted), or for every granted pathway.

    Summed from each pathway's counts per day, recounted first when older than
    ``STATS_MAX_AGE_SECONDS``; with ``now`` given, counted exactly as of ``now``. ``at``
    says when the figures were counted (the oldest of the pathways')."""
    if pathway is not None:
        require_pathway(actor, pathway)
    buckets = cut(first_day, last_day, by)
    exact = now is not None
    now = now or utcnow()
    if pathway is not None:
        chosen = [pathway]
    else:
        with session_scope() as session:
            chosen = sorted(p for p in refresh.countable(session) if actor.may_see_pathway(p))
    max_age = None if exact else dt.timedelta(seconds=get_settings().stats_max_age_seconds)
    counted = refresh.ensure_fresh(chosen, now, max_age)
    with session_scope() as session:
        figures = [_pathway(session, buckets, p, counted[p]) for p in chosen]
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
    return Statistics(first_day, last_day, by, min(counted.values(), default=now), figures)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _pathway(
    session: Session, buckets: list[Bucket], pathway: str, at: dt.datetime
) -> PathwayFigures:
    """The pathway's figures per bucket, all as of ``at`` (when its counts were made)."""
    enrolled = queries.enrolments(session, queries.bucket_table(buckets), pathway)
    counts = read.sums(session, buckets, pathway)
    acks = read.acknowledgements(session, buckets, pathway)
    scheduled = _scheduled(session, buckets, pathway, at)

    def of(figure: str, i: int) -> dict[str, int]:
        return counts.get(figure, {}).get(i, {})

    def one(figure: str, i: int) -> int:
        return of(figure, i).get(NO_KEY, 0)

    out = []
    for bucket in buckets:
        i = bucket.index
        e = enrolled.get(i, {})
        opened, people = one("opened", i), one("actors", i)
        red = acks.get(i, {}).get("red", {})
        rows, own = e.get("enrolments", 0), e.get("own_thresholds", 0)
        rules = {*of("fired", i), *of("overrides", i)}
        out.append(
            BucketFigures(
                bucket=bucket,
                patients={k: e.get(k, 0) for k in ("patients", "new", "ended")},
                uploads={t: of("uploads", i).get(t, 0) for t in UPLOAD_TYPES},
                results={lv: of("results", i).get(lv, 0) for lv in queries.LEVELS},
                contacts={c: of("contacts", i).get(c, 0) for c in queries.CONTACTS},
                acknowledge={lv: _ack(acks.get(i, {}).get(lv)) for lv in queries.LEVELS},
                red_in_time={
                    "acknowledged": red.get("count", 0),
                    "in_time": red.get("in_time", 0),
                    "share": _share(red.get("in_time", 0), red.get("count", 0)),
                },
                overdue=one("overdue", i),
                alert_load={
                    "opened": opened,
                    "per_day": round(opened / bucket.days, 4),
                    "clinicians": people,
                    "per_clinician": round(opened / people, 4) if people else None,
                },
                own_thresholds={"enrolments": rows, "with_own": own, "share": _share(own, rows)},
                overrides={rule: _rule(counts, i, rule) for rule in sorted(rules)},
                scheduled=None if scheduled is None else _figures(counts, scheduled, i),
            )
        )
    return PathwayFigures(pathway, queries.overdue_now(session, pathway, at), out)


UPLOAD_TYPES = ("QuestionnaireResponse", "Observation")


def _rule(counts: read.Sums, i: int, rule: str) -> dict[str, Any]:
    found = {
        figure: counts.get(figure, {}).get(i, {}).get(rule, 0)
        for figure in ("fired", "overrides", "raised", "lowered")
    }
    return {**found, "share": _share(found["overrides"], found["fired"])}


def _scheduled(
    session: Session, buckets: list[Bucket], pathway_id: str, at: dt.datetime
) -> dict[int, int] | None:
    """Silent patients per bucket (counted now: a moment, not a sum of days), when the
    newest version has a schedule and a questionnaire; else None (no scheduled figures)."""
    row = version_row(session, pathway_id)
    pathway = compiled(row) if row is not None else None
    if pathway is None or pathway.schedule is None or not pathway.questionnaires:
        return None
    return schedule.silent(session, buckets, pathway, at)


def _figures(counts: read.Sums, silent: dict[int, int], i: int) -> dict[str, Any]:
    def one(figure: str) -> int:
        return counts.get(figure, {}).get(i, {}).get(NO_KEY, 0)

    due, in_time, answered = one("due"), one("due_in_time"), one("answered")
    return {
        "fell_due": due,
        "answered_in_time": in_time,
        "response_rate": _share(in_time, due),
        "answered": answered,
        "green": one("green"),
        "green_share": _share(one("green"), answered),
        "avoided_visits": one("avoided"),
        "avoided_share": _share(one("avoided"), answered),
        "unscheduled_reports": one("responses") - answered,
        "silent_patients": silent.get(i, 0),
    }


def _ack(figure: dict[str, Any] | None) -> dict[str, Any]:
    if figure is None:
        return {"count": 0, "median_hours": None, "p90_hours": None}
    return {
        "count": figure["count"],
        "median_hours": round(figure["median_seconds"] / 3600, 3),
        "p90_hours": round(figure["p90_seconds"] / 3600, 3),
    }
