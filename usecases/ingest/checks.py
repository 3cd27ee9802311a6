"""What an incoming resource is checked against beyond FHIR validity: the pathways in force
and the stored Questionnaires (internal to :mod:`usecases.ingest.upload`).

- no item is answered twice, unless the stored Questionnaire marks it ``repeats``;
- a response's answers have the engine type each pathway reading it declares (a ``scores``
  input needs a code of its map);
- a response fits the stored Questionnaire it names (newest with that url, the same
  ``version`` preferred);
- a device unit converts to the unit each pathway that reads the code declares.
"""

from __future__ import annotations

import datetime as dt
import decimal
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlmodel import Session, select

from fhir_adapters import ObservationData, OutcomeIssue, flatten_response, repeated_answers
from fhir_adapters.observation import UCUM
from fhir_adapters.questionnaire_check import check_against_questionnaire
from runtime import caches
from store.models import Patient, Resource
from store.pathways import pathways_in_force
from triage import Pathway
from triage.expressions import to_engine_value, type_word
from triage.model import AnswerInput
from triage.units import can_convert

_ENGINE_KIND = {
    decimal.Decimal: "FLOAT",
    bool: "BOOLEAN",
    str: "STRING",
    dt.datetime: "DATETIME",
}


# Patients are never deleted, so a process may remember the ones it has seen and skip a
# query per upload; what it has not seen (or a new process) is asked of the database.
# Patients known to exist: a patient record is never deleted, so once seen, always there.
_KNOWN_PATIENTS = caches.lru("ingest.known_patients", maxsize=100_000)
_known_lock = threading.Lock()


def _remember(patient_id: str) -> None:
    with _known_lock:
        _KNOWN_PATIENTS[patient_id] = True


@dataclass
class Context:
    """One request's view of the database: pathways, patients and questionnaires, each
    looked up once however many entries need them."""

    session: Session
    _patients: dict[str, bool] = field(default_factory=dict)
    _questionnaires: dict[tuple[str, str | None], dict[str, Any] | None] = field(
        default_factory=dict
    )

    @cached_property
    def pathways(self) -> dict[str, Pathway]:
        return pathways_in_force(self.session)

    def patient_exists(self, patient_id: str) -> bool:
        if patient_id in _KNOWN_PATIENTS:
            return True
        if patient_id not in self._patients:
            found = self.session.get(Patient, patient_id)
            self._patients[patient_id] = found is not None
            if found is not None:
                _remember(patient_id)
        return self._patients[patient_id]

    def questionnaire_by_id(self, resource_id: str) -> dict[str, Any] | None:
        """A stored Questionnaire by its id (``Questionnaire/{id}`` in a response)."""
        row = self.session.get(Resource, resource_id)
        if row is None or row.resource_type != "Questionnaire":
            return None
        return dict(row.body)

    def questionnaire(self, url: str, version: str | None) -> dict[str, Any] | None:
        key = (url, version)
        if key not in self._questionnaires:
            rows = self.session.exec(
                select(Resource.body)
                .where(Resource.resource_type == "Questionnaire", Resource.canonical_url == url)
                .order_by(Resource.received_at.desc())  # type: ignore[attr-defined]
            ).all()
            same = [body for body in rows if version and body.get("version") == version]
            found = same or list(rows)
            self._questionnaires[key] = dict(found[0]) if found else None
        return self._questionnaires[key]


def response_problems(
    ctx: Context, qr: Any, raw: dict[str, Any], url: str, version: str | None
) -> list[OutcomeIssue]:
    """An item answered twice (unless the stored Questionnaire lets it repeat), answers the
    pathways in force cannot read, and misfits with the stored Questionnaire."""
    stored = ctx.questionnaire(url, version)
    # First: with an item answered twice, the rest could be checked against the wrong answer.
    issues = repeated_answers(raw, stored)
    if issues:
        return issues
    readers = [p for p in ctx.pathways.values() if p.reads_questionnaire(url)]
    if readers:
        flat = flatten_response(qr)
        places = _answer_places(raw.get("item") or [], "QuestionnaireResponse", {})
        for pathway in readers:
            issues += _typed_answers(pathway, flat, places)
    if stored is not None:
        issues += check_against_questionnaire(raw, stored)
    unique: dict[tuple[str, str], OutcomeIssue] = {}
    for issue in issues:
        unique.setdefault((issue.location, issue.diagnostics), issue)
    return list(unique.values())


def _typed_answers(
    pathway: Pathway, flat: dict[str, Any], places: dict[str, str]
) -> list[OutcomeIssue]:
    issues: list[OutcomeIssue] = []
    for name, spec in pathway.inputs.items():
        if not isinstance(spec, AnswerInput) or flat.get(spec.link_id) is None:
            continue
        given = flat[spec.link_id]
        where = places.get(spec.link_id, "QuestionnaireResponse.item")
        # A repeating item (the Questionnaire says so) gives a tuple: every answer must fit.
        for value in given if isinstance(given, tuple) else (given,):
            problem = _answer_problem(pathway, name, spec, value)
            if problem is not None:
                issues.append(OutcomeIssue("error", problem[0], problem[1], where))
                break
    return issues


def _answer_problem(
    pathway: Pathway, name: str, spec: AnswerInput, value: Any
) -> tuple[str, str] | None:
    if spec.scores is not None:
        if isinstance(value, str) and value in spec.scores:
            return None
        return "code-invalid", f"the answer to {spec.link_id} must be one of the codes " + (
            ", ".join(spec.scores)
        )
    expected = pathway.types.get(name)
    want = getattr(expected, "name", "UNDEFINED")
    try:
        got = _ENGINE_KIND.get(type(to_engine_value(value)))
    except TypeError:
        got = None
    if want != "UNDEFINED" and got != want:
        return "value", f"the answer to {spec.link_id} must be {type_word(expected)} " + (
            f"(pathway {pathway.id})"
        )
    return None


def _answer_places(nodes: list[Any], path: str, out: dict[str, str]) -> dict[str, str]:
    """linkId -> location of its first answer with a value, in flatten_response's order."""
    for i, node in enumerate(nodes):
        if not isinstance(node, dict):
            continue
        where = f"{path}.item[{i}]"
        link = node.get("linkId")
        for j, answer in enumerate(node.get("answer") or []):
            has_value = any(key.startswith("value") for key in answer)
            if isinstance(link, str) and link not in out and has_value:
                out[link] = f"{where}.answer[{j}]"
            _answer_places(answer.get("item") or [], f"{where}.answer[{j}]", out)
        _answer_places(node.get("item") or [], where, out)
    return out


def unit_problems(ctx: Context, data: ObservationData, raw: dict[str, Any]) -> list[OutcomeIssue]:
    """Readings whose unit cannot be converted to the unit a pathway in force wants."""
    places = _quantity_places(raw)
    issues: list[OutcomeIssue] = []
    for index, m in enumerate(data.measurements):
        for pathway in ctx.pathways.values():
            route = pathway.route_of(m)
            if route is None or can_convert(m.unit, route.unit, analyte=route.analyte):
                continue
            where = places[index] if index < len(places) else "Observation"
            text = (
                f"the unit {m.unit} cannot be converted to {route.unit}, "
                f"which pathway {pathway.id} reads {route.name} in"
            )
            issues.append(OutcomeIssue("error", "value", text, where))
            break
    return issues


def _quantity_places(raw: dict[str, Any]) -> list[str]:
    """Where each measurement's unit is, in observation_measurements' order."""
    out: list[str] = []
    holders = [(raw, "Observation")] + [
        (c, f"Observation.component[{i}]") for i, c in enumerate(raw.get("component") or [])
    ]
    for holder, where in holders:
        quantity = holder.get("valueQuantity") if isinstance(holder, dict) else None
        if isinstance(quantity, dict):
            coded = quantity.get("system") == UCUM and quantity.get("code")
            out.append(f"{where}.valueQuantity.{'code' if coded else 'unit'}")
    return out
