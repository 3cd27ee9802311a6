"""Faults in what arrives: the same Bundle delivered again and again in parallel, and data
whose clock is far in the past or the future.

Each test breaks something while patients post, lets the service recover, and ends with
the exact count (tests/faults/tally.py): every accepted resource judged exactly once per
pathway, as of its own time, at the level the pure engine gives; one open worklist item per
patient and pathway holding the worst of its results; every outbox row done, nothing stored
twice."""

from __future__ import annotations

import datetime as dt
import random
import time
from typing import Any

import httpx
import pytest
from sqlmodel import select

from store.db import session_scope
from store.models import Outbox, WorklistItem
from tests.faults import tally
from tests.faults.app import (
    SPO2,
    WEIGHT,
    Ledger,
    Patient,
    epilepsy_response,
    in_parallel,
    new_patients,
    observation,
    post_bundle,
    post_resource,
)
from tests.faults.burst import SEIZURES, patients_of, settle_and_count
from tests.faults.stack import Stack

pytestmark = pytest.mark.slow


def test_the_same_bundle_delivered_again_and_again_in_parallel(running: Stack) -> None:
    started = time.monotonic()
    patients = patients_of(running, 10, ("epilepsy",))
    ledger = Ledger()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    bundles = {}
    rng = random.Random()
    for pid in patients:
        resources = [
            epilepsy_response(pid, rng.choice(SEIZURES), now - dt.timedelta(minutes=30 - m))
            for m in range(3)
        ]
        resources.append(observation(pid, WEIGHT, 80.0 + rng.random(), "kg", now))
        bundles[pid] = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {"resource": r, "request": {"method": "POST", "url": r["resourceType"]}}
                for r in resources
            ],
        }
    deliveries = [
        (lambda c, p=patients[pid], b=bundle: post_bundle(c, running.api_url, p, b, ledger))
        for pid, bundle in bundles.items()
        for _ in range(8)
    ]
    random.shuffle(deliveries)
    in_parallel(deliveries, threads=16)
    assert len(ledger.accepted) == 4 * len(patients)
    with session_scope() as session:
        boxes = session.exec(
            select(Outbox.patient_id).where(Outbox.patient_id.in_(list(patients)))  # type: ignore[attr-defined]
        ).all()
    assert sorted(boxes) == sorted(patients), "one outbox row per Bundle, however often sent"
    settle_and_count(
        "same bundle 8x in parallel", patients, ledger, {"epilepsy"}, started
    )  # the weight goes to heart-failure: enrolled in none of its readers


def test_the_clock_of_the_data_far_in_the_past_or_the_future(running: Stack) -> None:
    """Next year is refused (422, "in the future"); three hours ahead is stored, judged at
    once and flagged, and never hides the red of a minute ago; a red dated 1970 is stored and
    judged red as of its own time, and never displaces newer data as the newest."""
    started = time.monotonic()
    epilepsy = new_patients(running.api_url, 3, ("epilepsy",))
    heart = new_patients(running.api_url, 3, ("heart-failure",))
    patients = {p.id: p for p in [*epilepsy, *heart]}
    ledger = Ledger()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    next_year = now + dt.timedelta(days=365)
    soon = now + dt.timedelta(hours=3)
    past = dt.datetime(1970, 1, 1, 0, 0, 5, tzinfo=dt.UTC)
    minute_ago = now - dt.timedelta(minutes=1)
    red_qr = lambda p, at: epilepsy_response(p.id, 5, at)  # noqa: E731
    green_qr = lambda p, at: epilepsy_response(p.id, 0, at)  # noqa: E731
    low_spo2 = lambda p, at: observation(p.id, SPO2, 85, "%", at)  # noqa: E731
    good_spo2 = lambda p, at: observation(p.id, SPO2, 98, "%", at)  # noqa: E731
    plans = [
        (epilepsy[0], [red_qr(epilepsy[0], minute_ago), green_qr(epilepsy[0], next_year)], "red"),
        (heart[0], [low_spo2(heart[0], minute_ago), good_spo2(heart[0], next_year)], "red"),
        (epilepsy[1], [red_qr(epilepsy[1], minute_ago), green_qr(epilepsy[1], soon)], "red"),
        (heart[1], [low_spo2(heart[1], minute_ago), good_spo2(heart[1], soon)], "red"),
        # A red dated 1970 is judged as of its own time: red, even behind newer green data.
        (epilepsy[2], [green_qr(epilepsy[2], minute_ago), red_qr(epilepsy[2], past)], "red"),
        (heart[2], [good_spo2(heart[2], minute_ago), low_spo2(heart[2], past)], "red"),
    ]

    def app(client: httpx.Client, patient: Patient, bodies: list[dict[str, Any]]) -> None:
        for body in bodies:  # in this order: the odd time arrives last
            post_resource(client, running.api_url, patient, body, ledger)

    in_parallel([lambda c, p=p, b=b: app(c, p, b) for p, b, _ in plans])
    assert len(ledger.refused) == 2, ledger.refused
    for _, status, text in ledger.refused:
        assert status == 422 and "in the future" in text, text
    enrolled = {p.id: {"epilepsy"} for p in epilepsy} | {p.id: {"heart-failure"} for p in heart}
    tally.wait_quiet(list(patients))
    result = tally.count("data dated 1970, +3 h, next year", ledger, enrolled, started)
    result.check()
    # Spelled out: a green value dated ahead never hides the red one dated now.
    with session_scope() as session:
        for patient, _, level in plans:
            (item,) = session.exec(
                select(WorklistItem).where(
                    WorklistItem.patient_id == patient.id,
                    WorklistItem.open_key != None,  # noqa: E711
                )
            ).all()
            assert item.level == level, (patient.id, item.level, item.reasons)
            assert item.newest is not None
            if patient in (epilepsy[1], heart[1]):
                # Dated ahead: the newest, but at the time it arrived, never 3 h ahead, and
                # flagged yellow beside the red the item holds.
                assert minute_ago < item.data_time <= dt.datetime.now(dt.UTC), item.data_time
                assert item.newest["level"] == "yellow", item.newest
                kinds = {r.get("kind") for r in item.newest["reasons"]}
                assert "dated-ahead" in kinds, item.newest
            else:  # not 1970: the newest data is the one of a minute ago
                assert item.data_time == minute_ago, (patient.id, item.data_time)
