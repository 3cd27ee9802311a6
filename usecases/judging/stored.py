"""What an evaluation reads from the database: the patient's responses to a pathway's forms
and the readings its windows can see, for the moments one job judges.

Every judging job runs these, so each statement is built once per pathway shape (its
questionnaires; its codes with their windows) and run with the patient and the times as
parameters: SQLAlchemy then neither rebuilds the expression nor recomputes its cache key
for each job, which was a tenth of a worker's CPU (issue 15, BENCHMARKS.md).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from store.models import Reading, Resource, UTCDateTime
from store.sqltime import seconds_before
from triage import Measurement, Pathway
from triage.model import ObservationInput

__all__ = ["horizons", "responses", "window_readings"]

_SLACK = dt.timedelta(days=2)  # a calendar month may be longer than its approximate 30 days
_READING = Reading.__table__  # type: ignore[attr-defined]
_RESOURCE = Resource.__table__  # type: ignore[attr-defined]


def horizons(pathway: Pathway) -> dict[str, dt.timedelta]:
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


@functools.lru_cache(maxsize=256)
def _responses_statements(questionnaires: tuple[str, ...]) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The newest response at or before ``start``; those after it up to ``end``."""
    r = _RESOURCE.c
    when = sa.func.coalesce(r.data_time, r.received_at)
    start = sa.bindparam("start", type_=UTCDateTime())
    base = sa.select(Resource).where(
        r.patient_id == sa.bindparam("patient_id"),
        r.resource_type == "QuestionnaireResponse",
        r.canonical_url.in_(questionnaires),
        r.withdrawn.is_(False),
    )
    order = (when, r.received_at, r.id)
    first = base.where(when <= start).order_by(*(o.desc() for o in order)).limit(1)
    later = base.where(when > start, when <= sa.bindparam("end", type_=UTCDateTime()))
    return first, later.order_by(*order)


def responses(
    session: Session, pathway: Pathway, patient_id: str, start: dt.datetime, end: dt.datetime
) -> list[Resource]:
    """The responses an evaluation between ``start`` and ``end`` may read: the newest at or
    before ``start`` and every one after it up to ``end``, oldest first; withdrawn left out."""
    if not pathway.questionnaires:
        return []
    first_at, later_than = _responses_statements(tuple(sorted(pathway.questionnaires)))
    params = {"patient_id": patient_id, "start": start, "end": end}
    first = session.scalars(first_at, params).first()
    # One moment (most jobs): nothing can lie between.
    later = list(session.scalars(later_than, params)) if end > start else []
    return ([first] if first is not None else []) + later


@functools.lru_cache(maxsize=256)
def _window_statement(dialect: str, spans: tuple[tuple[str, int], ...]) -> sa.Select[Any]:
    """Every reading of these codes from ``seconds`` before each code's newest reading at or
    before ``start`` (or before ``start``, with none) up to ``end``; and the readings coded
    several ways from ``alt_since``. The anchors are found inside the statement: one round
    trip, not two."""
    t = _READING.c
    patient: sa.BindParameter[str] = sa.bindparam("patient_id")
    start = sa.bindparam("start", type_=UTCDateTime())
    wanted = []
    for code, seconds in spans:
        newest = (
            sa.select(sa.func.max(t.time))
            .where(t.patient_id == patient, t.code == code, t.time <= start)
            .scalar_subquery()
        )
        anchor = sa.type_coerce(sa.func.coalesce(newest, start), UTCDateTime())
        wanted.append((t.code == code) & (t.time >= seconds_before(dialect, anchor, seconds)))
    # A value coded several ways is found by any of them: such rows are few, and routed below.
    wanted.append(t.alt.is_not(None) & (t.time >= sa.bindparam("alt_since", type_=UTCDateTime())))
    # Plain columns, not ORM objects: a CGM window is thousands of rows, and building an
    # ORM instance for each was most of a job's time.
    return (
        sa.select(t.code, t.panel, t.value, t.unit, t.time, t.alt, t.resource_id)
        .where(
            t.patient_id == patient,
            t.time <= sa.bindparam("end", type_=UTCDateTime()),
            sa.or_(*wanted),
        )
        .order_by(t.time, t.id)
    )


def window_readings(
    session: Session, pathway: Pathway, patient_id: str, start: dt.datetime, end: dt.datetime
) -> list[tuple[str, Measurement, str]]:
    """The patient's stored readings this pathway routes that an evaluation as of any time
    between ``start`` and ``end`` can see: per code, back from its newest reading at or
    before ``start`` as far as the pathway's longest window for it, up to ``end``; as
    (upload id, reading, the pathway's name for it)."""
    spans = horizons(pathway)
    if not spans:
        return []
    whole = tuple(sorted((code, math.ceil(span.total_seconds())) for code, span in spans.items()))
    statement = _window_statement(session.get_bind().dialect.name, whole)
    params = {
        "patient_id": patient_id,
        "start": start,
        "end": end,
        "alt_since": start - max(spans.values()),
    }
    out = []
    routed: dict[tuple[str, str | None], str | None] = {}  # a pathway routes few codes
    for code, panel, value, unit, time, alt, resource_id in session.execute(statement, params):
        m = Measurement(
            code=code,
            value=value,
            unit=unit,
            time=time,
            panel=panel,
            alt_codes=tuple((alt or {}).get("codes") or ()),
            alt_panels=tuple((alt or {}).get("panels") or ()),
        )
        if alt is None and (code, panel) in routed:
            name = routed[(code, panel)]
        else:
            route = pathway.route_of(m)
            name = route.name if route is not None else None
            if alt is None:
                routed[(code, panel)] = name
        if name is not None:
            out.append((resource_id, m, name))
    return out
