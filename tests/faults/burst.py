"""Patients posting while a fault test breaks something, and the count at the end (the fault
tests: tests/faults/test_*.py).

Each test breaks something while patients post, lets the service recover, and ends with
the exact count (tests/faults/tally.py): every accepted resource judged exactly once per
pathway, as of its own time, at the level the pure engine gives; one open worklist item per
patient and pathway holding the worst of its results; every outbox row done, nothing stored
twice."""

from __future__ import annotations

import datetime as dt
import random
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.faults import tally
from tests.faults.app import (
    Ledger,
    Patient,
    epilepsy_response,
    in_parallel,
    new_patients,
    post_resource,
)
from tests.faults.stack import Stack, wait_until

SEIZURES = (0, 0, 1, 2, 3, 5)  # green, yellow, red (3 and more; 2 and more in version 2)


class Burst:
    """Patients posting epilepsy follow-ups, each patient's answers in time order."""

    def __init__(self, stack: Stack, patients: list[Patient], ledger: Ledger) -> None:
        self.base = stack.api_url
        self.patients = patients
        self.ledger = ledger
        self.start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=2)
        self.sent = dict.fromkeys((p.id for p in patients), 0)
        self.rng = random.Random()

    def _post(self, client: httpx.Client, patient: Patient) -> None:
        n = self.sent[patient.id]
        self.sent[patient.id] = n + 1
        authored = self.start + dt.timedelta(minutes=n)
        body = epilepsy_response(patient.id, self.rng.choice(SEIZURES), authored)
        answer = post_resource(client, self.base, patient, body, self.ledger)
        assert answer.is_success, answer.text

    def round(self) -> None:
        """One follow-up from every patient, eight apps at a time."""
        in_parallel([lambda c, p=p: self._post(c, p) for p in self.patients])

    def during(self, fault: Callable[[], Any], most: int = 5) -> Any:
        """Every patient keeps posting (up to ``most`` each) for as long as ``fault`` runs."""
        done = threading.Event()

        def app(patient: Patient) -> None:
            with httpx.Client(timeout=30) as client:
                for _ in range(most):
                    self._post(client, patient)
                    if done.wait(0.3):
                        return

        with ThreadPoolExecutor(len(self.patients)) as pool:
            apps = [pool.submit(app, p) for p in self.patients]
            try:
                return fault()
            finally:
                done.set()
                for future in apps:
                    future.result(timeout=120)


def patients_of(stack: Stack, count: int, pathways: tuple[str, ...]) -> dict[str, Patient]:
    return {p.id: p for p in new_patients(stack.api_url, count, pathways)}


def settle_and_count(
    fault: str, patients: dict[str, Patient], ledger: Ledger, pathways: set[str], started: float
) -> tally.Tally:
    tally.wait_quiet(list(patients), timeout=90)
    result = tally.count(fault, ledger, dict.fromkeys(patients, pathways), started)
    result.check()
    return result


def kill_a_worker_midway(stack: Stack, work: Callable[[], Any]) -> list[bytes]:
    """Make ``work`` (uploads, a publish) reach a worker that is SIGKILLed in the middle of
    a job, then start a fresh one; returns the outbox ids the killed worker held.

    Only a "victim" worker, which holds each job open 1 s before its commit, takes the
    work, so it is surely killed in the middle of one. The frozen workers' sockets may
    hold a message each already (Redis hands it over while they sleep): worker-a's dies
    with it."""
    stack.freeze("worker-a")
    stack.freeze("worker-b")
    stack.start_worker("victim", {"TRIAGE_TEST_PAUSE_SECONDS": "1"})
    victim_log = stack.logs["victim"]
    work()
    held: list[bytes] = wait_until(
        lambda: re.findall(rb"test pause before committing outbox (\d+)", victim_log.read_bytes()),
        30,
        "the victim to start a job",
    )
    stack.kill("victim")
    stack.kill("worker-a")
    stack.thaw("worker-b")
    stack.start_worker("worker-a")
    return held
