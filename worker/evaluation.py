"""Routing an upload to pathways, and evaluating a pathway over the patient's stored data.

Answers are the patient's newest QuestionnaireResponse for the pathway's questionnaires;
device values are the patient's stored readings the pathway routes, from the newest one
back as far as the pathway's longest window for that value (so a new weight reading sees
the last three days). An Observation without a value (cancelled, entered-in-error,
``dataAbsentReason``) is no reading: it adds a yellow reason for the pathways that read its
code, so it never turns into a green by default.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from fhir_adapters import flatten_response, observation_measurements, parse_resource
from store.models import Reading, Resource
from triage import Action, Level, Measurement, Pathway, ThresholdError, evaluate
from triage.engine import FUTURE_TOLERANCE, REVIEW_MESSAGE
from triage.model import ObservationInput
from triage.worklist import no_reading_text

_SLACK = dt.timedelta(days=2)  # a calendar month may be longer than its approximate 30 days
_NOT_A_READING = ("cancelled", "entered-in-error")


@dataclass
class Work:
    """What one pathway reads of an upload."""

    resources: list[Resource] = field(default_factory=list)
    extra_reasons: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Routing:
    readers: dict[str, list[str]]  # resource id -> ids of the pathways that read it
    extra: dict[tuple[str, str], list[dict[str, Any]]]  # (resource, pathway) -> reasons
    resources: dict[str, Resource]

    def per_pathway(self, enrolled: set[str]) -> dict[str, Work]:
        """Work per pathway: the enrolled readers of each resource, else all of its readers."""
        out: dict[str, Work] = {}
        for rid, readers in self.readers.items():
            for pid in [p for p in readers if p in enrolled] or readers:
                work = out.setdefault(pid, Work())
                work.resources.append(self.resources[rid])
                work.extra_reasons.extend(self.extra.get((rid, pid), []))
        return out


def questionnaire_url(resource: Resource) -> str:
    url = resource.canonical_url or str(resource.body.get("questionnaire") or "")
    return url.split("|", 1)[0]


def routes_of(
    session: Session, resources: list[Resource], pathways: Mapping[str, Pathway]
) -> Routing:
    """Which pathways read which resource of an upload, and the no-reading reasons."""
    routing = Routing({}, {}, {r.id: r for r in resources})
    observations = [r.id for r in resources if r.resource_type == "Observation"]
    keys: dict[str, set[tuple[str, str | None]]] = {rid: set() for rid in observations}
    if observations:
        stored = session.exec(
            select(Reading.resource_id, Reading.code, Reading.panel).where(
                Reading.resource_id.in_(observations)  # type: ignore[attr-defined]
            )
        )
        for rid, code, panel in stored:
            keys[rid].add((code, panel))
    for resource in resources:
        if resource.resource_type == "QuestionnaireResponse":
            url = questionnaire_url(resource)
            routing.readers[resource.id] = [
                pid for pid, p in pathways.items() if p.reads_questionnaire(url)
            ]
        elif resource.resource_type == "Observation":
            absent = _absent_values(resource.body, bool(keys[resource.id]))
            readers = []
            for pid, pathway in pathways.items():
                reasons = [
                    _no_reading_reason(route.name, why, pathway.language)
                    for code, panel, why in absent
                    if (route := pathway.route_for(code, panel)) is not None
                ]
                if reasons or any(pathway.route_for(c, p) for c, p in keys[resource.id]):
                    readers.append(pid)
                if reasons:
                    routing.extra[(resource.id, pid)] = reasons
            routing.readers[resource.id] = readers
    return routing


def _no_reading_reason(name: str, why: str, language: str) -> dict[str, Any]:
    return {
        "rule": None,
        "level": Level.YELLOW.label,
        "text": no_reading_text(name, why, language),
        "kind": "no-reading",
    }


def _absent_values(body: dict[str, Any], has_readings: bool) -> list[tuple[str, str | None, str]]:
    """(code, panel, why) for every value the Observation announces but does not carry."""
    components = body.get("component") or []
    suspicious = (
        not has_readings
        or body.get("status") in _NOT_A_READING
        or any("valueQuantity" not in c for c in components if isinstance(c, dict))
    )
    if not suspicious:
        return []
    data = observation_measurements(parse_resource(body, "Observation"))
    out: list[tuple[str, str | None, str]] = []
    for note in data.not_readings:
        where = note.location or "Observation"
        if where.startswith("Observation.component["):
            index = int(where.removeprefix("Observation.component[").split("]", 1)[0])
            codings = components[index].get("code", {}).get("coding", [])
            out.extend(
                (f"{c.get('system', '')}|{c['code']}", data.code, note.diagnostics)
                for c in codings
                if c.get("code")
            )
        else:
            out.extend((code, None, note.diagnostics) for code in data.codes)
    return out


@dataclass(frozen=True)
class PathwayData:
    patient_id: str
    resources: list[Resource]
    extra_reasons: list[dict[str, Any]]
    thresholds: dict[str, Any] | None  # None: not enrolled


@dataclass(frozen=True)
class Outcome:
    level: Level
    action: Action | None
    record: dict[str, Any]
    sources: list[dict[str, str]]
    # The newest data the evaluation read (not dated in the future): the item's data time,
    # so a late upload of old readings does not make the item look as old as they are.
    data_time: dt.datetime | None = None


def evaluate_pathway(
    session: Session, pathway: Pathway, data: PathwayData, now: dt.datetime
) -> Outcome:
    """Triage the patient's stored data with one compiled pathway version."""
    answers: dict[str, Any] = {}
    used: Resource | None = None
    extra = list(data.extra_reasons)
    if pathway.questionnaires:
        used = newest_response(session, pathway, data.patient_id, now)
        if used is not None:
            answers = dict(flatten_response(parse_resource(used.body, "QuestionnaireResponse")))
        ahead = future_responses(session, pathway, data.patient_id, now)
        if ahead:
            extra.append(_future_response_reason(ahead, pathway.language))
    measurements = stored_measurements(session, pathway, data.patient_id, now)
    try:
        result = evaluate(
            pathway, answers=answers, measurements=measurements, thresholds=data.thresholds, now=now
        )
    except ThresholdError as exc:  # the pathway changed since the patient was enrolled
        result = evaluate(pathway, answers=answers, measurements=measurements, now=now)
        text = f"Pasientens egne grenser er ikke brukt: {exc}"
        if pathway.language not in ("nb", "nn"):
            text = f"The patient's own thresholds were not used: {exc}"
        extra.append({"rule": None, "level": "yellow", "text": text, "kind": "thresholds"})
    record = result.to_dict()
    record["enrolled"] = data.thresholds is not None
    if data.thresholds is None:
        record["notes"] = ["not enrolled in this pathway: its default thresholds were used"]
    level = result.level
    if extra:
        level = max(level, Level.YELLOW)
        reasons = [*record["reasons"], *extra]
        record["reasons"] = sorted(reasons, key=lambda r: -Level.parse(r["level"]))
        if level > result.level:
            record["patient_message"] = REVIEW_MESSAGE.get(pathway.language, REVIEW_MESSAGE["en"])
    record["level"] = level.label
    sources = [{"resourceType": r.resource_type, "id": r.id} for r in data.resources]
    if used is not None and all(s["id"] != used.id for s in sources):
        sources.append({"resourceType": used.resource_type, "id": used.id})
    times = [m.time for m in measurements if m.time <= now + FUTURE_TOLERANCE]
    if used is not None:
        times.append(used.data_time or used.received_at)
    return Outcome(level, result.action, record, sources, max(times, default=None))


def newest_response(
    session: Session, pathway: Pathway, patient_id: str, now: dt.datetime
) -> Resource | None:
    """The patient's newest response (by its time, then arrival) to the pathway's forms.

    A response dated in the future (a phone's clock ahead) is never the newest: it would
    hide every response sent after it until its date came."""
    when = func.coalesce(Resource.data_time, Resource.received_at)
    query = (
        select(Resource)
        .where(
            Resource.patient_id == patient_id,
            Resource.resource_type == "QuestionnaireResponse",
            Resource.canonical_url.in_(pathway.questionnaires),  # type: ignore[union-attr]
            when <= now + FUTURE_TOLERANCE,
        )
        .order_by(when.desc(), Resource.received_at.desc(), Resource.id.desc())  # type: ignore[attr-defined]
        .limit(1)
    )
    return session.exec(query).first()


def future_responses(
    session: Session, pathway: Pathway, patient_id: str, now: dt.datetime
) -> list[dt.datetime]:
    """The times of the patient's responses to the pathway's forms dated in the future."""
    times = session.exec(
        select(Resource.data_time).where(
            Resource.patient_id == patient_id,
            Resource.resource_type == "QuestionnaireResponse",
            col(Resource.canonical_url).in_(pathway.questionnaires),
            col(Resource.data_time) > now + FUTURE_TOLERANCE,
        )
    ).all()
    return [time for time in times if time is not None]


def _future_response_reason(times: list[dt.datetime], language: str) -> dict[str, Any]:
    latest = max(times).isoformat()
    text = (
        f"{len(times)} skjema datert fram i tid (seneste {latest}) er ikke brukt; "
        "sjekk klokken på telefonen"
        if language in ("nb", "nn")
        else f"{len(times)} response(s) dated in the future (latest {latest}) were not used; "
        "check the phone's clock"
    )
    return {"rule": None, "level": Level.YELLOW.label, "text": text, "kind": "future"}


def _horizons(pathway: Pathway) -> dict[str, dt.timedelta]:
    """How far back from its newest reading each code's values are needed."""
    by_name: dict[str, dt.timedelta] = {}
    for spec in pathway.inputs.values():
        if isinstance(spec, ObservationInput):
            span = spec.window.approx_timedelta() + _SLACK if spec.window else dt.timedelta(0)
            by_name[spec.observation] = max(span, by_name.get(spec.observation, span))
    routes = [*((code, r) for (_, code), r in pathway.routes.items())]
    routes += list(pathway.component_routes.items())
    out: dict[str, dt.timedelta] = {}
    for code, route in routes:
        span = by_name.get(route.name, dt.timedelta(0))
        out[code] = max(span, out.get(code, span))
    return out


def stored_measurements(
    session: Session, pathway: Pathway, patient_id: str, now: dt.datetime
) -> list[Measurement]:
    """The patient's stored readings this pathway routes, as far back as its windows need."""
    horizons = _horizons(pathway)
    if not horizons:
        return []
    codes = list(horizons)
    newest = dict(
        session.exec(
            select(Reading.code, func.max(Reading.time))
            .where(
                Reading.patient_id == patient_id,
                Reading.code.in_(codes),  # type: ignore[attr-defined]
                Reading.time <= now + FUTURE_TOLERANCE,
            )
            .group_by(Reading.code)
        ).all()
    )
    wanted = [
        (col(Reading.code) == code) & (col(Reading.time) >= newest[code] - horizons[code])
        if code in newest
        else col(Reading.code) == code  # only readings dated in the future: the engine flags them
        for code in codes
    ]
    # Plain columns, not ORM objects: a CGM window is thousands of rows, and building an
    # ORM instance for each was most of a job's time.
    rows = session.execute(
        sa.select(
            col(Reading.code),
            col(Reading.panel),
            col(Reading.value),
            col(Reading.unit),
            col(Reading.time),
        )
        .where(col(Reading.patient_id) == patient_id, or_(*wanted))
        .order_by(col(Reading.time))
    )
    return [
        Measurement(code=code, value=value, unit=unit, time=time, panel=panel)
        for code, panel, value, unit, time in rows
        if pathway.route_for(code, panel) is not None
    ]
