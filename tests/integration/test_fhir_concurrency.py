"""The same resource posted 20 times at once is stored once: the database decides, not a
search before the insert. Against a real uvicorn server in a thread, on both backends."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from store.db import session_scope
from store.models import Outbox, Patient, Resource, WorklistItem
from tests.conftest import Service, live_server
from tests.integration.fhir_helpers import FNR, bearer, fnr_patient, new_fnr, weight
from usecases.judging import job as jobs

PARALLEL = 20


@pytest.fixture(scope="module")
def base_url(service: Service) -> Iterator[str]:
    with live_server() as url:
        yield url


def at_once(send: Callable[[httpx.Client], httpx.Response]) -> list[httpx.Response]:
    """Send PARALLEL requests released together by a barrier, each on its own connection."""
    barrier = threading.Barrier(PARALLEL)

    def one(_: int) -> httpx.Response:
        with httpx.Client(timeout=60) as client:
            barrier.wait()
            return send(client)

    with ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(one, range(PARALLEL)))


def test_twenty_identical_observations_at_once_are_stored_once(base_url: str) -> None:
    with httpx.Client(timeout=30) as client:
        created = client.post(
            f"{base_url}/fhir/Patient", json=fnr_patient(new_fnr()), headers=bearer("clinician")
        )
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    obs: dict[str, Any] = weight(f"Patient/{pid}", 30, ident=f"burst-{pid}")
    responses = at_once(
        lambda c: c.post(f"{base_url}/fhir/Observation", json=obs, headers=bearer("patient", pid))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * (PARALLEL - 1) + [201], [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    with session_scope() as session:
        rows = session.exec(select(Resource).where(Resource.patient_id == pid)).all()
        outboxes = session.exec(select(Outbox).where(Outbox.patient_id == pid)).all()
    assert len(rows) == 1
    assert len(outboxes) == 1 and outboxes[0].resource_ids == [rows[0].id]
    # Triaged (twice, as a redelivered task would be): one item on the worklist.
    assert outboxes[0].id is not None
    for _ in range(2):
        jobs.triage_outbox(outboxes[0].id)
    with session_scope() as session:
        items = session.exec(select(WorklistItem).where(WorklistItem.patient_id == pid)).all()
    assert len(items) == 1 and items[0].pathway_id == "heart-failure"


def test_twenty_conditional_creates_at_once_are_stored_once(base_url: str) -> None:
    with httpx.Client(timeout=30) as client:
        created = client.post(
            f"{base_url}/fhir/Patient", json=fnr_patient(new_fnr()), headers=bearer("clinician")
        )
    pid = created.json()["id"]
    headers = {**bearer("patient", pid), "If-None-Exist": f"identifier=urn:app|cond-{pid}"}
    responses = at_once(
        lambda c: c.post(
            f"{base_url}/fhir/Observation", json=weight(f"Patient/{pid}", 31), headers=headers
        )
    )
    assert sorted(r.status_code for r in responses) == [200] * (PARALLEL - 1) + [201]
    with session_scope() as session:
        count = session.exec(
            select(func.count()).select_from(Resource).where(Resource.patient_id == pid)
        ).one()
        outboxes = session.exec(
            select(func.count()).select_from(Outbox).where(Outbox.patient_id == pid)
        ).one()
    assert (count, outboxes) == (1, 1)


def test_twenty_identical_patients_at_once_are_stored_once(base_url: str) -> None:
    fnr = new_fnr()
    responses = at_once(
        lambda c: c.post(
            f"{base_url}/fhir/Patient", json=fnr_patient(fnr), headers=bearer("clinician")
        )
    )
    assert sorted(r.status_code for r in responses) == [200] * (PARALLEL - 1) + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    with session_scope() as session:
        count = session.exec(
            select(func.count())
            .select_from(Patient)
            .where(Patient.identifier_system == FNR, Patient.identifier_value == fnr)
        ).one()
    assert count == 1


def test_twenty_identical_transactions_at_once_store_each_reading_once(base_url: str) -> None:
    with httpx.Client(timeout=30) as client:
        created = client.post(
            f"{base_url}/fhir/Patient", json=fnr_patient(new_fnr()), headers=bearer("clinician")
        )
    pid = created.json()["id"]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": weight(f"Patient/{pid}", m, ident=f"tx-{pid}-{m}"),
                "request": {"method": "POST", "url": "Observation"},
            }
            for m in range(10)
        ],
    }
    responses = at_once(
        lambda c: c.post(f"{base_url}/fhir", json=bundle, headers=bearer("patient", pid))
    )
    assert {r.status_code for r in responses} == {200}, [r.text for r in responses]
    created_flags = [[e["response"]["status"] for e in r.json()["entry"]] for r in responses]
    assert sum(flags == ["201 Created"] * 10 for flags in created_flags) == 1
    with session_scope() as session:
        count = session.exec(
            select(func.count()).select_from(Resource).where(Resource.patient_id == pid)
        ).one()
        outboxes = session.exec(
            select(func.count()).select_from(Outbox).where(Outbox.patient_id == pid)
        ).one()
    assert (count, outboxes) == (10, 1)
