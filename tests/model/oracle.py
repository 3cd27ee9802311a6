"""The level an upload deserves, worked out from the model's own record of what a patient
sent, by the pure engine alone: no SQL, no routing code of the worker. The state machine
holds the service's stored results to it.

RULES.md "When": an upload is judged as of its own time (``authored``, or the reading's
time); answers from the response being judged, or the newest response at or before that
time; readings at or before that time. Withdrawn data (``entered-in-error``) is not data.
An Observation that announces a value it does not carry adds a yellow reason for the
pathways that read that value; data dated more than 10 minutes after it arrived is flagged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fhir_adapters import (
    flatten_response,
    observation_measurements,
    parse_resource,
    response_questionnaire_url,
)
from triage import Level, Pathway, evaluate_at, prepare
from triage.engine import FUTURE_TOLERANCE


@dataclass
class Version:
    """One version of an upload as the model sent it, and the step it was sent in."""

    step: int
    body: dict[str, Any]
    sent: dt.datetime  # the wall clock just before it was sent

    @property
    def withdrawn(self) -> bool:
        return self.body.get("status") in ("entered-in-error", "cancelled") and (
            self.body["resourceType"] == "Observation" or self.body["status"] == "entered-in-error"
        )


@dataclass
class Upload:
    """A resource the service accepted, with every version the model sent of it."""

    id: str
    rtype: str
    identifier: str  # SYSTEM|VALUE
    versions: list[Version] = field(default_factory=list)

    def at_step(self, step: int) -> Version | None:
        """The version in force during ``step`` (None: not sent yet)."""
        found = [v for v in self.versions if v.step <= step]
        return found[-1] if found else None


def own_time(body: Mapping[str, Any]) -> dt.datetime:
    """The time an upload is judged as of."""
    if body["resourceType"] == "QuestionnaireResponse":
        return dt.datetime.fromisoformat(body["authored"]).astimezone(dt.UTC)
    return dt.datetime.fromisoformat(body["effectiveDateTime"]).astimezone(dt.UTC)


def reads(pathway: Pathway, body: Mapping[str, Any]) -> bool:
    """Whether ``pathway`` reads this upload, by any coding (API.md "Routing")."""
    if body["resourceType"] == "QuestionnaireResponse":
        url = response_questionnaire_url(parse_resource(dict(body))) or ""  # type: ignore[arg-type]
        return pathway.reads_questionnaire(url)
    codes = _codes(body.get("code"))
    if pathway.route_for_codes(codes):
        return True
    for component in body.get("component") or []:
        if pathway.route_for_codes(_codes(component.get("code")), codes or (None,)):
            return True
    return False


def has_data(pathway: Pathway, body: Mapping[str, Any]) -> bool:
    """Whether the upload gives ``pathway`` data: a response it reads, or a reading it
    routes (an Observation without any value gives none)."""
    if body["resourceType"] == "QuestionnaireResponse":
        return reads(pathway, body)
    data = observation_measurements(parse_resource(dict(body), "Observation"))
    return any(pathway.route_of(m) is not None for m in data.measurements)


def _codes(concept: Any) -> tuple[str, ...]:
    codings = concept.get("coding") if isinstance(concept, dict) else None
    return tuple(f"{c.get('system', '')}|{c['code']}" for c in codings or [] if c.get("code"))


def _absent_routed(pathway: Pathway, body: Mapping[str, Any]) -> bool:
    """An Observation announcing a value the pathway reads, without the value."""
    if body["resourceType"] != "Observation":
        return False
    codes = _codes(body.get("code"))
    if body.get("status") in ("cancelled", "entered-in-error"):
        return reads(pathway, body)
    if "valueQuantity" not in body and not body.get("component"):
        return pathway.route_for_codes(codes) is not None
    for component in body.get("component") or []:
        if "valueQuantity" not in component and pathway.route_for_codes(
            _codes(component.get("code")), codes or (None,)
        ):
            return True
    return False


def judged_levels(
    pathway: Pathway,
    visible: list[Version],
    as_of: dt.datetime,
    own: Version | None,
    thresholds: Mapping[str, Any] | None,
) -> set[Level]:
    """The level of a judgement as of ``as_of`` over the data ``visible`` then; several
    when responses share the newest time (which of them is "the newest" is not defined)."""
    data = [v for v in visible if not v.withdrawn]
    responses = [
        v
        for v in data
        if v.body["resourceType"] == "QuestionnaireResponse"
        and reads(pathway, v.body)
        and own_time(v.body) <= as_of
    ]
    newest = max((own_time(v.body) for v in responses), default=None)
    tied = [v for v in responses if own_time(v.body) == newest] or [None]
    if own is not None and own.body["resourceType"] == "QuestionnaireResponse":
        tied = [None]
    return {
        judged_level(pathway, visible, as_of, own, thresholds, response=choice) for choice in tied
    }


def judged_level(
    pathway: Pathway,
    visible: list[Version],
    as_of: dt.datetime,
    own: Version | None,
    thresholds: Mapping[str, Any] | None,
    response: Version | None = None,
) -> Level:
    """The level of a judgement as of ``as_of`` over the data ``visible`` then (answers
    from ``response`` when given)."""
    data = [v for v in visible if not v.withdrawn]
    responses = [
        v
        for v in data
        if v.body["resourceType"] == "QuestionnaireResponse"
        and reads(pathway, v.body)
        and own_time(v.body) <= as_of
    ]
    if own is not None and own.body["resourceType"] == "QuestionnaireResponse":
        # A response that arrived entered-in-error is no data: the newest other one is read.
        responses = [own] if not own.withdrawn else responses
    answers: dict[str, Any] = {}
    if response is not None:
        responses = [response]
    if responses:
        newest = max(responses, key=lambda v: (own_time(v.body), v.sent))
        answers = dict(flatten_response(parse_resource(newest.body, "QuestionnaireResponse")))
    # Readings in the order they were stored (a correction's come later); an upload is
    # judged on its own value when another of the same kind has the very same time.
    order = sorted(data, key=lambda v: (v is own, v.sent))
    measurements = [
        m
        for v in order
        if v.body["resourceType"] == "Observation"
        for m in observation_measurements(parse_resource(v.body, "Observation")).measurements
        if pathway.route_of(m) is not None and m.time <= as_of
    ]
    result = evaluate_at(
        pathway,
        prepare(pathway, measurements=measurements),
        as_of=as_of,
        answers=answers,
        thresholds=thresholds,
    )
    level = result.level
    if own is not None:
        if own.withdrawn or _absent_routed(pathway, own.body):
            level = max(level, Level.YELLOW)
        if own_time(own.body) > own.sent + FUTURE_TOLERANCE + dt.timedelta(seconds=5):
            level = max(level, Level.YELLOW)  # dated ahead of its arrival: flagged
    return level
