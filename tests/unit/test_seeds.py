"""The demo data, checked offline: valid synthetic ids, responses that answer each pathway's
inputs with the right types, valid FHIR R4, and the levels each patient's story promises
when the engine itself evaluates the newest data (red, yellow and green all present)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import triage
from fhir_adapters import flatten_response, observation_measurements, parse_resource
from fhir_adapters.norwegian_id import national_id_problem
from seeds import demo as demo_module
from seeds import fhir, people
from seeds.demo import Demo, generate
from triage.model import AnswerInput
from triage.worklist import overdue_due

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
PATHWAYS = {p.id: p for p in (triage.load_pathway(f) for f in sorted(ROOT.glob("rules/*.yaml")))}


@pytest.fixture(scope="module")
def demo() -> Demo:
    return generate(NOW)


def _resources(demo: Demo) -> list[tuple[str, dict[str, Any]]]:
    return [(p.key, r) for p in demo.patients for upload in p.uploads for r in upload]


def _bound(resource: dict[str, Any]) -> dict[str, Any]:
    return {**copy.deepcopy(resource), "subject": {"reference": "Patient/p-1"}}


def test_known_national_ids_pass_and_a_changed_digit_fails() -> None:
    assert people.is_valid_fnr("13031353453")  # the contract's sample
    assert not people.is_valid_fnr("13031353454")
    assert not people.is_valid_fnr("1303135345")


def test_every_patient_has_a_valid_synthetic_national_id_matching_sex_and_birth(demo: Demo):
    ids = [p.resource["identifier"][0]["value"] for p in demo.patients]
    assert 20 <= len(ids) <= 30
    assert len(set(ids)) == len(ids)
    for patient in demo.patients:
        resource = patient.resource
        fnr = resource["identifier"][0]["value"]
        assert resource["identifier"][0]["system"] == people.FNR_SYSTEM
        assert people.is_valid_fnr(fnr), fnr
        assert national_id_problem(fnr) is None, "the service's own check accepts it"
        birth = dt.date.fromisoformat(resource["birthDate"])
        assert int(fnr[2:4]) == birth.month + 80, "synthetic ids add 80 to the month"
        assert fnr[:2] == f"{birth.day:02d}" and fnr[4:6] == f"{birth.year % 100:02d}"
        assert (int(fnr[8]) % 2 == 0) == (resource["gender"] == "female")


def test_the_demo_is_deterministic() -> None:
    first, second = generate(NOW), generate(NOW)
    dump = [
        json.dumps([p.resource, p.enrolments, p.uploads], sort_keys=True) for p in first.patients
    ]
    assert dump == [
        json.dumps([p.resource, p.enrolments, p.uploads], sort_keys=True) for p in second.patients
    ]
    assert generate(NOW, seed=1).patients[0].resource != first.patients[0].resource


def test_every_pathway_has_patients_and_own_thresholds_are_allowed(demo: Demo) -> None:
    enrolled = Counter(pw for p in demo.patients for pw in p.enrolments)
    assert set(enrolled) == set(PATHWAYS)
    assert all(count >= 3 for count in enrolled.values()), enrolled
    own = [(pw, t) for p in demo.patients for pw, t in p.enrolments.items() if t]
    assert len(own) >= 4
    for pathway_id, thresholds in own:
        triage.check_patient_thresholds(PATHWAYS[pathway_id], thresholds)


def test_every_resource_is_valid_fhir_r4_with_a_unique_identifier(demo: Demo) -> None:
    seen: set[str] = set()
    for _, resource in [("", r) for r in demo.questionnaires] + _resources(demo):
        parse_resource(_bound(resource) if "subject" in resource else resource)
        ident = resource.get("identifier")
        if ident is not None:
            value = (ident[0] if isinstance(ident, list) else ident)["value"]
            assert value not in seen, value
            seen.add(value)
    for patient in demo.patients:
        parse_resource(patient.resource)


def test_every_response_answers_its_pathways_inputs_with_the_right_types(demo: Demo) -> None:
    by_url = {url: p for p in PATHWAYS.values() for url in p.questionnaires}
    items = {qn["url"]: {i["linkId"]: i for i in qn["item"]} for qn in demo.questionnaires}
    assert set(items) == set(by_url), "a Questionnaire for each questionnaire pathway"
    kinds = {bool: "boolean", int: "integer", str: "choice"}
    responses = [r for _, r in _resources(demo) if r["resourceType"] == "QuestionnaireResponse"]
    assert len(responses) >= 15
    for resource in responses:
        url = resource["questionnaire"].split("|")[0]
        pathway = by_url[url]
        answers = flatten_response(parse_resource(_bound(resource)))
        for name, spec in pathway.inputs.items():
            if not isinstance(spec, AnswerInput):
                continue
            link = spec.link_id
            if spec.required:
                assert link in answers, f"{url}: required {link} ({name}) not answered"
            if link in answers:
                assert items[url][link]["type"] == kinds[type(answers[link])], link
                if spec.scores:
                    assert answers[link] in spec.scores, (link, answers[link])
        assert set(answers) <= set(items[url]), "every linkId is in the Questionnaire"


def _evaluate(demo: Demo, patient: demo_module.DemoPatient, pathway_id: str) -> triage.Result:
    pathway = PATHWAYS[pathway_id]
    resources = [_bound(r) for upload in patient.uploads for r in upload]
    responses = sorted(
        (
            r
            for r in resources
            if r["resourceType"] == "QuestionnaireResponse"
            and r["questionnaire"].split("|")[0] in pathway.questionnaires
        ),
        key=lambda r: r["authored"],
    )
    answers = flatten_response(parse_resource(responses[-1])) if responses else None
    measurements = [
        m
        for r in resources
        if r["resourceType"] == "Observation"
        for m in observation_measurements(parse_resource(r)).measurements
    ]
    return triage.evaluate(
        pathway,
        answers=answers,
        measurements=measurements,
        thresholds=patient.enrolments[pathway_id],
        now=demo.now,
    )


def test_the_newest_data_gives_each_patient_the_level_of_its_story(demo: Demo) -> None:
    levels: Counter[str] = Counter()
    for patient in demo.patients:
        assert set(patient.expect) == set(patient.enrolments)
        for pathway_id, expected in patient.expect.items():
            result = _evaluate(demo, patient, pathway_id)
            got = result.level.label
            assert got == expected, (patient.key, patient.story, pathway_id, result.to_dict())
            levels[got] += 1
    assert levels["red"] >= 5 and levels["yellow"] >= 5 and levels["green"] >= 5, levels


def test_the_demo_has_an_unrouted_reading_and_overdue_responses(demo: Demo) -> None:
    routed = " ".join(f"{p.routes} {p.component_routes}" for p in PATHWAYS.values())
    assert "29463-7" in routed  # the check below can see codes
    codes = [r["code"]["coding"][0]["code"] for _, r in _resources(demo) if "code" in r]
    assert "8310-5" in codes, "a reading no pathway reads (shown to staff as unrouted)"
    assert "8310-5" not in routed


def test_exactly_the_overdue_stories_are_overdue_when_the_demo_is_loaded(demo: Demo) -> None:
    """What the overdue check will find right after loading: each patient is enrolled from
    the day before their oldest data (``began``), and a schedule counts from the last
    answer or, without one, from that day."""
    overdue = set()
    for patient in demo.patients:
        answered = [
            dt.datetime.fromisoformat(r["authored"])
            for upload in patient.uploads
            for r in upload
            if r["resourceType"] == "QuestionnaireResponse"
        ]
        for pathway_id in patient.enrolments:
            pathway = PATHWAYS[pathway_id]
            if pathway.schedule is None or not pathway.questionnaires:
                continue
            mine = [
                dt.datetime.fromisoformat(r["authored"])
                for upload in patient.uploads
                for r in upload
                if r.get("questionnaire", "").split("|")[0] in pathway.questionnaires
            ]
            assert len(mine) == len(answered), (patient.story, "answers go to this pathway")
            newest = max(mine, default=None)
            if overdue_due(pathway.schedule, newest, patient.began(), NOW) is not None:
                overdue.add(patient.story)
    stories = {p.story for p in demo.patients if "forfalt" in p.story}
    assert len(stories) >= 2
    assert overdue == stories


def test_bundles_are_transactions_of_conditional_creates_for_the_patient(demo: Demo) -> None:
    upload = demo.patients[0].uploads[0]
    bundle = fhir.transaction(upload, "p-42")
    parse_resource(bundle)
    assert bundle["type"] == "transaction"
    for entry in bundle["entry"]:
        assert entry["resource"]["subject"] == {"reference": "Patient/p-42"}
        assert entry["request"]["ifNoneExist"].startswith(f"identifier={fhir.DEMO_SYSTEM}|")
    assert upload[0]["subject"]["reference"] == fhir.SUBJECT, "the generated data is unchanged"
