"""Which pathways read an upload: a QuestionnaireResponse goes to the pathways that read its
questionnaire, an Observation to those that route one of its codings (any coding, not only
the first). An Observation that announces a value it does not carry (cancelled,
entered-in-error, ``dataAbsentReason``) routes a yellow "no reading" reason instead, so it
never turns into a green by default."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from fhir_adapters import observation_measurements, parse_resource
from store.models import Reading, Resource
from triage import Level, Pathway
from triage.worklist import no_reading_text

__all__ = [
    "Codings",
    "Routing",
    "Work",
    "codings_of",
    "load_with_codings",
    "questionnaire_url",
    "routes_of",
]

_NOT_A_READING = ("cancelled", "entered-in-error")


@dataclass
class Work:
    """What one pathway reads of an upload."""

    resources: list[Resource] = field(default_factory=list)
    extra_reasons: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by resource


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
                if (rid, pid) in self.extra:
                    work.extra_reasons[rid] = self.extra[(rid, pid)]
        return out


_WITH_CODINGS = (  # built once, run with the ids as a parameter
    select(Resource, Reading.code, Reading.panel, Reading.alt)
    .outerjoin(Reading, col(Reading.resource_id) == col(Resource.id))
    .where(col(Resource.id).in_(bindparam("ids", expanding=True)))
)


def questionnaire_url(resource: Resource) -> str:
    url = resource.canonical_url or str(resource.body.get("questionnaire") or "")
    return url.split("|", 1)[0]


Codings = dict[str, set[tuple[tuple[str, ...], tuple[str | None, ...]]]]  # by resource id


def _stored_codes(session: Session, observations: list[str]) -> Codings:
    """Every coding (of the value and of its panel) of the readings of these Observations."""
    keys: Codings = {rid: set() for rid in observations}
    if not observations:
        return keys
    stored = session.exec(
        select(Reading.resource_id, Reading.code, Reading.panel, Reading.alt).where(
            col(Reading.resource_id).in_(observations)
        )
    )
    for rid, code, panel, alt in stored:
        keys[rid].add(codings_of(code, panel, alt))
    return keys


def load_with_codings(session: Session, ids: list[str]) -> tuple[list[Resource], Codings]:
    """These resources (as found, in no order) and the codings of their readings, in ONE
    statement: the judging job needs both, and a round trip is most of a statement's cost."""
    rows = session.execute(_WITH_CODINGS, {"ids": ids}).all()
    found: dict[str, Resource] = {}
    keys: Codings = {}
    for resource, code, panel, alt in rows:
        found[resource.id] = resource
        codings = keys.setdefault(resource.id, set())
        if code is not None:
            codings.add(codings_of(code, panel, alt))
    return list(found.values()), keys


def codings_of(
    code: str, panel: str | None, alt: Mapping[str, Any] | None
) -> tuple[tuple[str, ...], tuple[str | None, ...]]:
    codes = (code, *((alt or {}).get("codes") or ()))
    panels: tuple[str | None, ...] = (
        (panel, *((alt or {}).get("panels") or ())) if panel is not None else (None,)
    )
    return codes, panels


def routes_of(
    session: Session,
    resources: list[Resource],
    pathways: Mapping[str, Pathway],
    stored: Codings | None = None,
) -> Routing:
    """Which pathways read which resource of an upload (by ANY coding), and the
    no-reading reasons. A withdrawn resource is routed by what it was: its pathways must
    hear that it was withdrawn. ``stored``: the codings of the readings, when already loaded
    (:func:`load_with_codings`)."""
    routing = Routing({}, {}, {r.id: r for r in resources})
    observations = [r.id for r in resources if r.resource_type == "Observation"]
    if stored is None:
        keys = _stored_codes(session, observations)
    else:
        keys = {rid: stored.get(rid, set()) for rid in observations}
    for resource in resources:
        if resource.resource_type == "QuestionnaireResponse":
            url = questionnaire_url(resource)
            routing.readers[resource.id] = [
                pid for pid, p in pathways.items() if p.reads_questionnaire(url)
            ]
        elif resource.resource_type == "Observation":
            absent = _absent_values(resource.body, bool(keys[resource.id]))
            codings = set(keys[resource.id])
            if resource.withdrawn:
                codings |= _body_codings(resource.body)
            readers = []
            for pid, pathway in pathways.items():
                reasons = []
                if not resource.withdrawn or resource.version_id == 1:
                    reasons = [
                        _no_reading_reason(route.name, why, pathway.language)
                        for codes, panels, why in absent
                        if (route := pathway.route_for_codes(codes, panels)) is not None
                    ]
                if reasons or any(pathway.route_for_codes(c, p) for c, p in codings):
                    readers.append(pid)
                if reasons:
                    routing.extra[(resource.id, pid)] = reasons
            routing.readers[resource.id] = readers
    return routing


def _body_codings(body: dict[str, Any]) -> set[tuple[tuple[str, ...], tuple[str | None, ...]]]:
    """The codings an Observation's body names, for one whose readings are gone."""
    codes = tuple(_coding_keys(body.get("code")))
    out: set[tuple[tuple[str, ...], tuple[str | None, ...]]] = set()
    if codes:
        out.add((codes, (None,)))
    for component in body.get("component") or []:
        parts = tuple(_coding_keys(component.get("code") if isinstance(component, dict) else None))
        if parts:
            out.add((parts, codes or (None,)))
    return out


def _coding_keys(concept: Any) -> list[str]:
    codings = concept.get("coding") if isinstance(concept, dict) else None
    return [
        f"{c.get('system', '')}|{c['code']}"
        for c in codings or []
        if isinstance(c, dict) and c.get("code")
    ]


def _no_reading_reason(name: str, why: str, language: str) -> dict[str, Any]:
    return {
        "rule": None,
        "level": Level.YELLOW.label,
        "text": no_reading_text(name, why, language),
        "kind": "no-reading",
    }


def _absent_values(
    body: dict[str, Any], has_readings: bool
) -> list[tuple[tuple[str, ...], tuple[str | None, ...], str]]:
    """(codes, panels, why) for every value the Observation announces but does not carry."""
    components = body.get("component") or []
    suspicious = (
        not has_readings
        or body.get("status") in _NOT_A_READING
        or any("valueQuantity" not in c for c in components if isinstance(c, dict))
    )
    if not suspicious:
        return []
    data = observation_measurements(parse_resource(body, "Observation"))
    out: list[tuple[tuple[str, ...], tuple[str | None, ...], str]] = []
    for note in data.not_readings:
        where = note.location or "Observation"
        if where.startswith("Observation.component["):
            index = int(where.removeprefix("Observation.component[").split("]", 1)[0])
            codes = tuple(_coding_keys(components[index].get("code")))
            if codes:
                out.append((codes, tuple(data.codes), note.diagnostics))
        else:
            out.append((tuple(data.codes), (None,), note.diagnostics))
    return out
