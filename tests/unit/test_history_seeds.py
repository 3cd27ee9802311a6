"""The demo history (seeds/history.py), checked offline: each form gives the level it was
drawn to give when the engine itself judges it, most wrist and epilepsy forms are green,
forms follow the pathway's schedule, the patients have valid synthetic ids that the demo
does not use, and the same seed gives the same history."""

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
from seeds import people
from seeds.demo import generate
from seeds.history import MIX, History, generate_history
from triage.model import Schedule

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
PATHWAYS = {p.id: p for p in (triage.load_pathway(f) for f in sorted(ROOT.glob("rules/*.yaml")))}


def _schedules() -> dict[str, Schedule]:
    out = {}
    for pathway in MIX:
        schedule = PATHWAYS[pathway].schedule
        assert schedule is not None, f"{pathway} needs a schedule for the history"
        out[pathway] = schedule
    return out


@pytest.fixture(scope="module")
def history() -> History:
    demo = frozenset(p.resource["identifier"][0]["value"] for p in generate(NOW).patients)
    return generate_history(NOW, _schedules(), avoid=demo)


def _bound(resource: dict[str, Any]) -> dict[str, Any]:
    return {**copy.deepcopy(resource), "subject": {"reference": "Patient/p-1"}}


def test_every_form_gives_the_level_it_was_drawn_to_give(history: History) -> None:
    levels: dict[str, Counter[str]] = {p: Counter() for p in MIX}
    for person in history.patients:
        pathway = PATHWAYS[person.pathway]
        triage.check_patient_thresholds(pathway, person.thresholds)
        for form in person.forms:
            resources = [parse_resource(_bound(r)) for r in form.resources]
            answers = flatten_response(resources[0])  # type: ignore[arg-type]
            measurements = [
                m
                for r in resources[1:]
                for m in observation_measurements(r).measurements  # type: ignore[arg-type]
            ]
            result = triage.evaluate(
                pathway,
                answers=answers,
                measurements=measurements,
                thresholds=person.thresholds,
                now=form.at,
            )
            assert result.level.label == form.level, (person.key, form.resources[0]["item"])
            if form.scheduled:
                levels[person.pathway][form.level] += 1
    for pathway in ("wrist-fracture", "epilepsy"):
        counts = levels[pathway]
        assert counts["green"] / sum(counts.values()) > 0.6, (pathway, counts)
    for pathway, counts in levels.items():
        assert counts["red"] and counts["yellow"], (pathway, counts)


def test_a_few_hundred_patients_with_valid_synthetic_ids_the_demo_does_not_use(
    history: History,
) -> None:
    ids = [p.resource["identifier"][0]["value"] for p in history.patients]
    assert 300 <= len(ids) <= 400
    assert len(set(ids)) == len(ids)
    assert all(people.is_valid_fnr(fnr) and int(fnr[2:4]) > 80 for fnr in ids)
    demo = {p.resource["identifier"][0]["value"] for p in generate(NOW).patients}
    assert not demo & set(ids)
    assert Counter(p.pathway for p in history.patients) == Counter(MIX)


def test_forms_follow_the_schedule_within_the_year_and_some_follow_ups_end(
    history: History,
) -> None:
    start = NOW - dt.timedelta(days=365)
    late = 0
    for person in history.patients:
        schedule = _schedules()[person.pathway]
        assert start <= person.enrolled < NOW and person.began <= person.enrolled
        due = schedule.every.after(person.began)
        for form in person.forms:
            assert person.enrolled < form.at < NOW
            if not form.scheduled:
                assert form.at < due, "a report between forms never answers a due form"
                continue
            assert form.at >= due, (person.key, form.at, due)
            assert schedule.overdue_after is not None
            late += form.at > schedule.overdue_after.after(due)
            due = schedule.every.after(form.at)
        if person.ended is not None:
            assert person.forms[-1].at < person.ended < NOW if person.forms else True
    counts = history.counts()
    assert counts["forms"] > 1000 and counts["forms"] > counts["scheduled"]
    assert 0.03 < late / counts["scheduled"] < 0.2
    assert counts["ended"] >= 50


def test_the_history_is_deterministic() -> None:
    def dump(h: History) -> str:
        return json.dumps(
            [[p.resource, p.thresholds, [f.resources for f in p.forms]] for p in h.patients],
            sort_keys=True,
        )

    first = generate_history(NOW, _schedules(), scale=0.1)
    assert dump(first) == dump(generate_history(NOW, _schedules(), scale=0.1))
    assert dump(first) != dump(generate_history(NOW, _schedules(), seed=7, scale=0.1))
