"""A stateful property test of the safety promises (issue 10), through the real ingest (the
FastAPI app) and a real Celery worker, on the embedded default and on PostgreSQL + Redis.

Hypothesis runs random sequences of what patient apps, clinicians and clinic staff do to
one patient: responses and readings (late, early, dated ahead, coded SNOMED first, with a
component missing), transaction Bundles of several, the same body sent twice, corrections
(PUT) and withdrawals (``entered-in-error``), a new pathway version, new thresholds, and a
clinician acknowledging, overriding and resolving. After every step it waits for the worker
and checks, against the model's own record and the pure engine (tests/model/oracle.py):

- no request answers 5xx; a duplicate answers 200 with the same id;
- every accepted upload has one result per pathway that reads it, judged as of its own time
  at the level the engine gives over the data there was when it was judged (or it is shown
  as unrouted); every re-judgement likewise, with the version that made it;
- **an upload whose own judgement is red leaves a red item until a clinician resolves it**
  (the item's engine level stays red whatever the clinician's override says);
- an open item holds the worst result since it opened, and shows the newest data beside it.

The steps are SafetyMachine's rules (tests/model/machine.py, with the bodies it sends in
tests/model/sending.py); the checks are its invariants (tests/model/invariants.py).

``SAFETY_EXAMPLES`` sets the number of examples per backend (``make test``: a few minutes in
all; ``make test-safety``: a longer run).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from api.app import create_app
from tests.conftest import Service
from tests.model.machine import RAN, SafetyMachine

EXAMPLES = int(os.environ.get("SAFETY_EXAMPLES", "25"))
STEPS = int(os.environ.get("SAFETY_STEPS", "20"))


@pytest.fixture(scope="module")
def worker(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    service.start_worker(tmp_path_factory.mktemp(f"model-worker-{service.name}"))
    yield service
    service.stop_workers()


def test_a_red_never_vanishes(worker: Service) -> None:
    """The safety invariants hold over random sequences of uploads, corrections,
    withdrawals, publishes, enrolments and clinicians' actions."""
    RAN.clear()
    SafetyMachine.client = TestClient(create_app())
    run_state_machine_as_test(
        SafetyMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=os.environ.get("SAFETY_RANDOM") is None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    print(
        f"\nsafety model on {worker.name}: {sum(RAN.values())} steps: {dict(sorted(RAN.items()))}"
    )
    # A run that never corrected, withdrew, published or resolved would prove little.
    exercised = {"a response", "a reading", "a bundle", "a correction", "a withdrawal"}
    exercised |= {"a new pathway version", "a clinician: resolve", "the same again"}
    assert exercised <= set(RAN), f"never run: {sorted(exercised - set(RAN))}"
