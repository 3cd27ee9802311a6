"""Statistics of follow-up, alert load and contacts over HTTP (issue 12): the figures of
docs/statistics.md per pathway and bucket, counted by :mod:`usecases.statistics`, as JSON
(``/api/stats``) or as CSV (``/api/stats.csv``: the same answer, one row per pathway and
bucket, the nested figures flattened into dotted columns). Staff only; a pathway not
granted is refused like everywhere else, and every call is audited."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.auth import Principal, Staff
from api.csv_files import OPENAPI, CsvResponse, attachment, safe_filename
from usecases import statistics as stats
from usecases.statistics.queries import CONTACTS, LEVELS

router = APIRouter(tags=["statistics"])


class Followed(BaseModel):
    patients: int = Field(description="unique patients with an active enrolment in the bucket")
    new: int = Field(description="enrolments started in the bucket")
    ended: int = Field(description="enrolments ended in the bucket")


class Events(BaseModel):
    uploads: dict[str, int] = Field(description="uploads judged by the pathway, by FHIR type")
    results: dict[str, int] = Field(description="results of uploads, by level")


class Acknowledge(BaseModel):
    count: int
    median_hours: float | None = Field(description="nearest-rank median")
    p90_hours: float | None = Field(description="nearest-rank 90th percentile")


class RedInTime(BaseModel):
    acknowledged: int = Field(description="first acknowledgements of red items in the bucket")
    in_time: int = Field(description="of those, made by the item's due time")
    share: float | None


class AlertLoad(BaseModel):
    opened: int = Field(description="items opened red or yellow in the bucket")
    per_day: float
    clinicians: int = Field(description="people who acted on items in the bucket")
    per_clinician: float | None


class OwnThresholds(BaseModel):
    enrolments: int = Field(description="enrolments active in the bucket")
    with_own: int = Field(description="of those, with at least one own threshold")
    share: float | None


class Scheduled(BaseModel):
    fell_due: int = Field(description="scheduled questionnaires that fell due in the bucket")
    answered_in_time: int = Field(description="of those, answered within overdue_after")
    response_rate: float | None
    answered: int = Field(description="scheduled questionnaires answered in the bucket")
    green: int = Field(description="of those, whose own result was green")
    green_share: float | None
    avoided_visits: int = Field(description="answered, and no physical contact followed")
    avoided_share: float | None
    unscheduled_reports: int = Field(description="other responses from enrolled patients")
    silent_patients: int = Field(
        description="enrolled at the bucket's end, no data for longer than every + overdue_after"
    )


class RuleOverrides(BaseModel):
    fired: int = Field(description="upload results the rule fired on in the bucket")
    overrides: int = Field(description="overrides of items after a result it fired on")
    raised: int = Field(description="of those, the clinician's level above the engine's")
    lowered: int = Field(description="of those, below")
    share: float | None = Field(description="overrides / fired")


class BucketStats(BaseModel):
    first_day: str = Field(description="the first Oslo calendar day of the bucket")
    last_day: str = Field(description="its last day, included")
    start: str = Field(description="the bucket's start, an instant (UTC)")
    end: str = Field(description="its end, excluded")
    patients_followed: Followed
    events: Events
    contacts: dict[str, int] = Field(description="resolved items by recorded contact")
    time_to_acknowledge: dict[str, Acknowledge] = Field(description="by level")
    red_acknowledged_in_time: RedInTime
    overdue: int = Field(description="items due in the bucket, not acknowledged by then")
    alert_load: AlertLoad
    own_thresholds: OwnThresholds
    overrides: dict[str, RuleOverrides] = Field(description="per rule id; (otherwise): none fired")
    scheduled: Scheduled | None = Field(description="null: the pathway has no schedule")

    @classmethod
    def of(cls, figures: stats.BucketFigures) -> BucketStats:
        bucket = figures.bucket
        return cls.model_validate(
            {
                "first_day": bucket.first_day.isoformat(),
                "last_day": bucket.last_day.isoformat(),
                "start": bucket.start.isoformat(),
                "end": bucket.end.isoformat(),
                "patients_followed": figures.patients,
                "events": {"uploads": figures.uploads, "results": figures.results},
                "contacts": figures.contacts,
                "time_to_acknowledge": figures.acknowledge,
                "red_acknowledged_in_time": figures.red_in_time,
                "overdue": figures.overdue,
                "alert_load": figures.alert_load,
                "own_thresholds": figures.own_thresholds,
                "overrides": figures.overrides,
                "scheduled": figures.scheduled,
            }
        )


class PathwayStats(BaseModel):
    pathway: str
    overdue_now: int = Field(description="items past due, neither acknowledged nor resolved")
    buckets: list[BucketStats]


class Stats(BaseModel):
    from_: str = Field(alias="from", description="the first day, Europe/Oslo")
    to: str = Field(description="the last day, included")
    by: Literal["week", "month", "tertial"]
    at: str = Field(
        description="when the figures were counted: at most STATS_MAX_AGE_SECONDS before the "
        "call (docs/statistics.md, How fresh the figures are)"
    )
    pathways: list[PathwayStats]

    @classmethod
    def of(cls, found: stats.Statistics) -> Stats:
        return cls.model_validate(
            {
                "from": found.first_day.isoformat(),
                "to": found.last_day.isoformat(),
                "by": found.by,
                "at": found.at.isoformat(),
                "pathways": [
                    PathwayStats(
                        pathway=p.pathway,
                        overdue_now=p.overdue_now,
                        buckets=[BucketStats.of(b) for b in p.buckets],
                    )
                    for p in found.pathways
                ],
            }
        )


FirstDay = Annotated[dt.date, Query(alias="from", description="YYYY-MM-DD, Oslo")]
LastDay = Annotated[dt.date, Query(alias="to", description="YYYY-MM-DD, included")]
By = Literal["week", "month", "tertial"]


@router.get("/api/stats", response_model=Stats, response_model_by_alias=True)
def read_stats(
    principal: Staff,
    first_day: FirstDay,
    last_day: LastDay,
    by: By = "month",
    pathway: str | None = None,
) -> Stats:
    """The figures of docs/statistics.md per bucket, for one granted pathway or all."""
    return Stats.of(stats.statistics(principal, pathway, first_day, last_day, by))


@router.get("/api/stats.csv", response_class=CsvResponse, responses=OPENAPI)
def read_stats_csv(
    principal: Staff,
    first_day: FirstDay,
    last_day: LastDay,
    by: By = "month",
    pathway: str | None = None,
) -> CsvResponse:
    """The figures of ``/api/stats`` as CSV: one row per pathway and bucket, one column per
    figure (docs/statistics.md, "The CSV downloads")."""
    return stats_csv(principal, pathway, first_day, last_day, by)


def stats_csv(
    principal: Principal, pathway: str | None, first_day: dt.date, last_day: dt.date, by: By
) -> CsvResponse:
    """The statistics download, for this route and the page's (``/app/results.csv``): the
    same use case, grants, audit and columns."""
    found = Stats.of(stats.statistics(principal, pathway, first_day, last_day, by))
    header, rows = stats_table(found)
    name = safe_filename("statistics", pathway, first_day.isoformat(), last_day.isoformat(), by)
    return attachment(header, rows, name)


# The columns of the CSV, in order; ``overrides.<rule>.<figure>`` follow, rules sorted.
_FIXED = [
    "pathway",
    "overdue_now",
    "first_day",
    "last_day",
    "start",
    "end",
    *(f"patients_followed.{f}" for f in Followed.model_fields),
    *(f"events.uploads.{t}" for t in stats.UPLOAD_TYPES),
    *(f"events.results.{lv}" for lv in LEVELS),
    *(f"contacts.{c}" for c in CONTACTS),
    *(f"time_to_acknowledge.{lv}.{f}" for lv in LEVELS for f in Acknowledge.model_fields),
    *(f"red_acknowledged_in_time.{f}" for f in RedInTime.model_fields),
    "overdue",
    *(f"alert_load.{f}" for f in AlertLoad.model_fields),
    *(f"own_thresholds.{f}" for f in OwnThresholds.model_fields),
    *(f"scheduled.{f}" for f in Scheduled.model_fields),
]
# A rule with nothing in a bucket is absent from the JSON: in the CSV it counts zero.
_NO_OVERRIDES = RuleOverrides(fired=0, overrides=0, raised=0, lowered=0, share=None)


def _flat(value: Any, prefix: str, into: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flat(inner, f"{prefix}.{key}" if prefix else str(key), into)
    else:
        into[prefix] = value
    return into


def stats_table(found: Stats) -> tuple[list[str], list[list[Any]]]:
    """The answer of /api/stats as a table: the header and one row per pathway and bucket.
    Every figure of the JSON has its column (a null ``scheduled``: empty cells)."""
    rules = sorted({rule for p in found.pathways for b in p.buckets for rule in b.overrides})
    header = _FIXED + [
        f"overrides.{rule}.{f}" for rule in rules for f in RuleOverrides.model_fields
    ]
    rows = []
    for p in found.pathways:
        for b in p.buckets:
            overrides = {rule: b.overrides.get(rule, _NO_OVERRIDES) for rule in rules}
            figures = b.model_copy(update={"overrides": overrides}).model_dump(mode="json")
            flat = _flat(figures, "", {"pathway": p.pathway, "overdue_now": p.overdue_now})
            rows.append([flat.get(column) for column in header])
    return header, rows
