"""Judging each upload as of its own time (routing is :mod:`usecases.judging.routing`).

RULES.md "When": each upload (a response, or one Observation, also when several come in one
Bundle) is judged for itself, as of its own time: ``authored`` for a response, the
reading's time for an Observation. Answer inputs come from the response being judged (for
an Observation, from the newest response at or before its time); observation inputs see
the readings at or before that time. So a red answer uploaded after a newer green one, or
a low reading measured before a normal one, is judged on the data of its own moment.

A job judges many uploads of one patient at once: the readings a pathway needs are loaded
and prepared once (routed, converted, sorted), and each upload is then evaluated at its own
time over them (``triage.evaluate_at``). Data withdrawn (``entered-in-error``) is never
loaded: its readings are gone and its responses are skipped.

An Observation without a value (cancelled, entered-in-error, ``dataAbsentReason``) is no
reading: it adds a yellow reason for the pathways that read its code, so it never turns
into a green by default. Data dated ahead of when it arrived (a fast clock, at most a day:
ingest refuses more) is judged at once, as of its stated time, and flagged yellow.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func
from sqlmodel import Session, col, select

from fhir_adapters import flatten_response, parse_resource
from store.models import Reading, Resource, UTCDateTime
from triage import (
    Level,
    Pathway,
    Prepared,
    Result,
    ThresholdError,
    evaluate_at,
    prepare,
)
from triage.engine import FUTURE_TOLERANCE, REVIEW_MESSAGE
from triage.units import UnitError, convert
from triage.windows import Series
from triage.worklist import due_time, note_text
from usecases.judging import stored
from usecases.judging.routing import codings_of

_NOT_A_READING = ("cancelled", "entered-in-error")


@dataclass(frozen=True)
class Judgement:
    """One upload (or a patient's newest data) judged with one pathway version."""

    resource: Resource | None  # None: a re-judgement of the newest data
    as_of: dt.datetime  # the time the data is judged as of
    level: Level
    record: dict[str, Any]
    sources: list[dict[str, str]]
    shown_time: dt.datetime  # the data's time, never later than it arrived (due, newest)
    due: dt.datetime | None

    @property
    def action(self) -> dict[str, Any] | None:
        action: dict[str, Any] | None = self.record.get("action")
        return action


@dataclass(frozen=True)
class Moment:
    """What to judge: an upload at its own time, or the newest data at that time."""

    as_of: dt.datetime
    resource: Resource | None = None
    extra: list[dict[str, Any]] = field(default_factory=list)
    arrived: dt.datetime | None = None


class PathwayData:
    """The patient's data one pathway reads, loaded once for all the moments of a job."""

    def __init__(
        self,
        session: Session,
        pathway: Pathway,
        patient_id: str,
        moments: Sequence[Moment],
    ) -> None:
        self.pathway = pathway
        start = min(m.as_of for m in moments)
        end = max(m.as_of for m in moments)
        self.responses = stored.responses(session, pathway, patient_id, start, end)
        self._times = [_when(r) for r in self.responses]
        self._answers: dict[str, dict[str, Any]] = {}
        self._rows = stored.window_readings(session, pathway, patient_id, start, end)
        self.prepared: Prepared = prepare(pathway, measurements=[m for _, m, _ in self._rows])
        # Uploads whose reading shares its time with another of the same kind.
        keys: dict[tuple[str, dt.datetime], set[str]] = {}
        for rid, m, name in self._rows:
            keys.setdefault((name, m.time), set()).add(rid)
        self._tied = {rid for owners in keys.values() if len(owners) > 1 for rid in owners}

    def prepared_for(self, resource: Resource | None) -> Prepared:
        """The readings as ``resource`` is judged on them: when another reading of the same
        kind has the very same time, this upload's own is the newest of that instant, so an
        upload is always judged on its own value. Only the order within that instant
        changes (window sums and counts span whole instants): the one series is copied with
        its own value moved last, nothing is routed or converted again."""
        if resource is None or resource.id not in self._tied:
            return self.prepared
        series = dict(self.prepared.series)
        for rid, m, _ in self._rows:
            route = self.pathway.route_of(m)
            if rid != resource.id or route is None or route.name not in series:
                continue
            old = series[route.name]
            first = bisect.bisect_left(old.times, m.time)
            last = bisect.bisect_right(old.times, m.time)
            values = old.values[first:last]
            try:
                value = convert(m.value, m.unit, route.unit, analyte=route.analyte)
            except UnitError:  # not in the series at all: prepare() gave it a reason
                continue
            if value in values:
                values.remove(value)
                values.append(value)
            series[route.name] = Series(old.times, old.values[:first] + values + old.values[last:])
        return dataclasses.replace(self.prepared, series=series)

    def response_at(self, as_of: dt.datetime) -> Resource | None:
        """The newest response at or before ``as_of`` (its time, then arrival, then id)."""
        index = bisect.bisect_right(self._times, as_of)
        return self.responses[index - 1] if index else None

    def answers(self, response: Resource) -> dict[str, Any]:
        if response.id not in self._answers:
            parsed = parse_resource(response.body, "QuestionnaireResponse")
            self._answers[response.id] = dict(flatten_response(parsed))
        return self._answers[response.id]


def _when(resource: Resource) -> dt.datetime:
    return resource.data_time or resource.received_at


def judge(
    data: PathwayData,
    moment: Moment,
    thresholds: Mapping[str, Any] | None,
    now: dt.datetime,
) -> Judgement:
    """Evaluate the pathway as of ``moment`` (an upload's own time, or the newest data)."""
    pathway = data.pathway
    resource = moment.resource
    used: Resource | None = None
    extra = list(moment.extra)
    if resource is not None and resource.resource_type == "QuestionnaireResponse":
        if not resource.withdrawn:
            used = resource
        else:  # arrived marked entered-in-error: shown, never used as data
            used = data.response_at(moment.as_of)
            if used is not None and used.id == resource.id:
                used = None
            extra.append(
                _reason("not-data", pathway, what=_what(resource), status="entered-in-error")
            )
    elif pathway.questionnaires:
        used = data.response_at(moment.as_of)
    answers = data.answers(used) if used is not None else {}
    arrived = moment.arrived or now
    if moment.as_of > arrived + FUTURE_TOLERANCE and resource is not None:
        extra.append(_reason("dated-ahead", pathway, when=moment.as_of, what=_what(resource)))
    prepared = data.prepared_for(resource)
    result = _evaluate(pathway, prepared, moment.as_of, answers, thresholds, now, extra)
    record = result.to_dict()
    record["enrolled"] = thresholds is not None
    if thresholds is None:
        record["notes"] = ["not enrolled in this pathway: its default thresholds were used"]
    level = result.level
    if extra:
        level = max(level, *(Level.parse(r["level"]) for r in extra))
        reasons = [*record["reasons"], *extra]
        record["reasons"] = sorted(reasons, key=lambda r: -Level.parse(r["level"]))
        if level > result.level:
            record["patient_message"] = REVIEW_MESSAGE.get(pathway.language, REVIEW_MESSAGE["en"])
    record["level"] = level.label
    record["as_of"] = moment.as_of.isoformat()
    sources = []
    if resource is not None:
        sources.append({"resourceType": resource.resource_type, "id": resource.id})
    if used is not None and all(s["id"] != used.id for s in sources):
        sources.append({"resourceType": used.resource_type, "id": used.id})
    shown = min(moment.as_of, arrived)
    # A problem that lifted the level above every fired rule: the default review deadline.
    due = due_time(level, result.action if level == result.level else None, shown)
    return Judgement(resource, moment.as_of, level, record, sources, shown, due)


def _evaluate(
    pathway: Pathway,
    prepared: Prepared,
    as_of: dt.datetime,
    answers: dict[str, Any],
    thresholds: Mapping[str, Any] | None,
    now: dt.datetime,
    extra: list[dict[str, Any]],
) -> Result:
    try:
        return evaluate_at(
            pathway,
            prepared,
            as_of=as_of,
            answers=answers,
            thresholds=thresholds,
            evaluated_at=now,
        )
    except ThresholdError as exc:  # the pathway changed since the patient was enrolled
        text = f"Pasientens egne grenser er ikke brukt: {exc}"
        if pathway.language not in ("nb", "nn"):
            text = f"The patient's own thresholds were not used: {exc}"
        extra.append({"rule": None, "level": "yellow", "text": text, "kind": "thresholds"})
        return evaluate_at(pathway, prepared, as_of=as_of, answers=answers, evaluated_at=now)


def _what(resource: Resource) -> str:
    return f"{resource.resource_type}/{resource.id}"


def _reason(
    kind: str, pathway: Pathway, when: dt.datetime | None = None, **words: Any
) -> dict[str, Any]:
    return {
        "rule": None,
        "level": Level.YELLOW.label,
        "text": note_text(kind, pathway.language, when=when, **words),
        "kind": kind,
    }


def newest_data_time(
    session: Session, pathway: Pathway, patient_id: str, limit: dt.datetime
) -> dt.datetime | None:
    """The time of the patient's newest data this pathway reads (withdrawn data aside)."""
    times: list[dt.datetime] = []
    if pathway.questionnaires:
        when = sa.type_coerce(
            func.max(func.coalesce(Resource.data_time, Resource.received_at)), UTCDateTime()
        )
        found = session.exec(
            select(when).where(
                col(Resource.patient_id) == patient_id,
                col(Resource.resource_type) == "QuestionnaireResponse",
                col(Resource.canonical_url).in_(pathway.questionnaires),
                col(Resource.withdrawn).is_(False),
                func.coalesce(Resource.data_time, Resource.received_at) <= limit,
            )
        ).first()
        if found is not None:
            times.append(found)
    codes = list(stored.horizons(pathway))
    if codes:
        newest = session.exec(
            select(func.max(Reading.time)).where(
                col(Reading.patient_id) == patient_id,
                col(Reading.code).in_(codes),
                col(Reading.time) <= limit,
            )
        ).first()
        if newest is not None:
            times.append(newest)
        # A value coded several ways counts if the pathway reads any of its codings.
        coded = session.exec(
            select(Reading.time, Reading.code, Reading.panel, Reading.alt)
            .where(
                col(Reading.patient_id) == patient_id,
                col(Reading.alt).is_not(None),
                col(Reading.time) <= limit,
            )
            .order_by(col(Reading.time).desc())
        )
        for time, code, panel, alt in coded:
            if newest is not None and time <= newest:
                break
            if pathway.route_for_codes(*codings_of(code, panel, alt)) is not None:
                times.append(time)
                break
    return max(times, default=None)
