"""Faults while a new pathway version comes in force: published while triage runs, and a
worker SIGKILLed while it re-judges what is open with it.

Each test breaks something while patients post, lets the service recover, and ends with
the exact count (tests/faults/tally.py): every accepted resource judged exactly once per
pathway, as of its own time, at the level the pure engine gives; one open worklist item per
patient and pathway holding the worst of its results; every outbox row done, nothing stored
twice."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from sqlmodel import select

from store.db import session_scope
from store.models import PathwayVersion, TriageResult, WorklistItem
from store.pathways import IN_FORCE_SECONDS, compiled
from tests.conftest import ROOT
from tests.faults import tally
from tests.faults.app import Ledger, send, staff_headers
from tests.faults.burst import Burst, kill_a_worker_midway, patients_of, settle_and_count
from tests.faults.stack import Stack
from triage import evaluate
from triage.result import json_value

pytestmark = pytest.mark.slow


def _next_epilepsy(stack: Stack) -> tuple[str, int]:
    """rules/epilepsy.yaml as the next version, red from 2 seizures instead of 3."""
    with httpx.Client(timeout=30) as client:
        url = f"{stack.api_url}/api/pathways/epilepsy"
        current = send(client, "GET", url, headers=staff_headers())
    version = int(current.json()["version"]) + 1
    text = (ROOT / "rules" / "epilepsy.yaml").read_text(encoding="utf-8")
    old_red = "seizures_red: {value: 3,"
    assert old_red in text
    text = re.sub(r"^version: [0-9]+$", f"version: {version}", text, count=1, flags=re.M)
    return text.replace(old_red, "seizures_red: {value: 2,", 1), version


def _publish_epilepsy(stack: Stack, text: str) -> httpx.Response:
    """PUT a new version of the epilepsy pathway as an author."""
    with httpx.Client(timeout=30) as client:
        return send(
            client,
            "PUT",
            f"{stack.api_url}/api/pathways/epilepsy",
            content=text.encode(),
            headers={**staff_headers("author"), "Content-Type": "application/yaml"},
        )


def test_a_pathway_published_while_triage_runs(running: Stack) -> None:
    started = time.monotonic()
    patients = patients_of(running, 20, ("epilepsy",))
    ledger = Ledger()
    burst = Burst(running, list(patients.values()), ledger)
    burst.round()
    tally.wait_quiet(list(patients))  # these are surely triaged by the version in force
    text, version = _next_epilepsy(running)

    def publish() -> None:
        time.sleep(0.5)
        answer = _publish_epilepsy(running, text)
        assert answer.status_code == 201, answer.text
        time.sleep(0.5)

    burst.during(publish, most=3)
    time.sleep(IN_FORCE_SECONDS + 1)  # every process now uses the new version
    burst.round()
    settle_and_count("pathway published mid-triage", patients, ledger, {"epilepsy"}, started)

    # Every result names its version, and its thresholds and level are that version's.
    with session_scope() as session:
        results = session.exec(
            select(TriageResult).where(TriageResult.patient_id.in_(list(patients)))  # type: ignore[attr-defined]
        ).all()
        versions = {
            row.version: row
            for row in session.exec(
                select(PathwayVersion).where(PathwayVersion.pathway_id == "epilepsy")
            )
        }
    used = set()
    for result in results:
        row = versions[result.version]
        pathway = compiled(row)
        record = result.result
        assert (result.pathway_id, result.sha256) == ("epilepsy", row.sha256)
        assert record["ruleset"] == {
            "pathway": "epilepsy",
            "version": row.version,
            "sha256": row.sha256,
        }
        defaults = {k: json_value(v) for k, v in pathway.default_thresholds().items()}
        assert record["thresholds"] == defaults, (result.id, record["thresholds"])
        inputs = record["inputs"]
        assert (inputs["new_seizure_type"], inputs["wants_contact"]) == (False, False)
        answers = {
            "seizure-count": inputs["seizures"],
            "new-seizure-type": False,
            "side-effects": "none",
            "wants-contact": False,
        }
        assert result.level == evaluate(pathway, answers=answers).level.label, record
        used.add(result.version)
    assert used == {version - 1, version}, f"results by versions {used}"


def test_a_worker_killed_while_it_rejudges_a_new_version_loses_and_doubles_nothing(
    running: Stack,
) -> None:
    """API.md: a new pathway version re-judges what is open. The re-judging is outbox work
    like any upload: a worker SIGKILLed in the middle of it loses nothing, and the new one
    judges each patient once with that version (UNIQUE task key), raising what rises."""
    started = time.monotonic()
    patients = patients_of(running, 16, ("epilepsy",))
    ledger = Ledger()
    burst = Burst(running, list(patients.values()), ledger)
    burst.round()
    tally.wait_quiet(list(patients))
    text, version = _next_epilepsy(running)
    # Stricter still: red from 1 seizure (its own test of one seizure expects red).
    text = text.replace("seizures_red: {value: 2,", "seizures_red: {value: 1,", 1)
    one = "expect: yellow\n    expect_rules: [some-seizures]"
    assert one in text
    text = text.replace(one, "expect: red\n    expect_rules: [many-seizures]", 1)

    def publish() -> None:
        answer = _publish_epilepsy(running, text)
        assert answer.status_code == 201, answer.text
        assert answer.json()["rejudging"] >= len(patients), answer.json()

    kill_a_worker_midway(running, publish)
    result = settle_and_count(
        "worker SIGKILLed while re-judging", patients, ledger, {"epilepsy"}, started
    )
    with session_scope() as session:
        rejudged = session.exec(
            select(TriageResult.patient_id).where(
                TriageResult.kind == "rejudge",
                TriageResult.version == version,
                TriageResult.patient_id.in_(list(patients)),  # type: ignore[attr-defined]
            )
        ).all()
        items = session.exec(
            select(WorklistItem).where(
                WorklistItem.patient_id.in_(list(patients)),  # type: ignore[attr-defined]
                WorklistItem.open_key != None,  # noqa: E711
            )
        ).all()
    assert sorted(rejudged) == sorted(patients), f"one re-judgement each: {result}"
    # Red from 1 seizure now: whoever reported seizures last is red, without new data.
    newest = {p: max(burst_answers(ledger, p)) for p in patients}
    raised = [item for item in items if newest[item.patient_id][1] >= 1]
    assert raised, "the burst sent no seizures at all"
    for item in raised:
        assert item.level == "red", (item.patient_id, item.level, newest[item.patient_id])


def burst_answers(ledger: Ledger, patient_id: str) -> list[tuple[str, int]]:
    """(authored, seizures) of what the patient sent."""
    return [
        (a.body["authored"], int(a.body["item"][0]["answer"][0]["valueInteger"]))
        for a in ledger.of(patient_id)
    ]
