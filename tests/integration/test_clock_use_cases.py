"""The use cases write the time of the clock (runtime/clock.py) on what they record, on
both backends: the demo history writes its past through them. Without a time set they
write the wall clock, as before."""

from __future__ import annotations

import datetime as dt

from sqlmodel import col, select

from api.auth import Principal
from runtime import clock
from store.db import session_scope
from store.models import AuditEvent, WorklistEvent, WorklistItem
from tests.conftest import Service
from tests.integration.api_rows import add_item, add_patient, unique
from usecases import worklist

ACKED = dt.datetime(2025, 6, 2, 8, 15, tzinfo=dt.UTC)
RESOLVED = ACKED + dt.timedelta(hours=5)


def _history(item_id: str) -> list[tuple[str, dt.datetime]]:
    with session_scope() as session:
        events = session.exec(
            select(WorklistEvent)
            .where(col(WorklistEvent.item_id) == item_id)
            .order_by(col(WorklistEvent.id))
        ).all()
        return [(e.change, e.at) for e in events]


def _audit_times(item_id: str) -> list[dt.datetime]:
    with session_scope() as session:
        rows = session.exec(
            select(AuditEvent.at)
            .where(col(AuditEvent.target) == item_id)
            .order_by(col(AuditEvent.id))
        ).all()
        return list(rows)


def test_acknowledge_override_and_resolve_record_the_time_the_clock_is_set_to(
    service: Service,
) -> None:
    pathway = unique("clock")
    item_id = add_item(add_patient(), pathway, "yellow")
    doctor = Principal("clinician:clock", "clinician", pathways=frozenset({pathway}))
    with clock.frozen_at(ACKED):
        worklist.acknowledge(item_id, doctor)
        worklist.override(item_id, doctor, "red", "urolig i telefonen")
    with clock.frozen_at(RESOLVED):
        worklist.resolve(item_id, doctor, contact="phone")

    with session_scope() as session:
        item = session.get(WorklistItem, item_id)
        assert item is not None
        assert (item.acknowledged_at, item.override_at) == (ACKED, ACKED)
        assert (item.resolved_at, item.updated, item.contact) == (RESOLVED, RESOLVED, "phone")
    assert _history(item_id) == [
        ("acknowledged", ACKED),
        ("override", ACKED),
        ("resolved", RESOLVED),
    ]
    assert _audit_times(item_id) == [ACKED, ACKED, RESOLVED]


def test_without_a_time_set_a_resolution_is_dated_now(service: Service) -> None:
    pathway = unique("clock")
    item_id = add_item(add_patient(), pathway, "red")
    doctor = Principal("clinician:clock", "clinician", pathways=frozenset({pathway}))
    before = dt.datetime.now(dt.UTC)
    worklist.resolve(item_id, doctor, contact="none")
    after = dt.datetime.now(dt.UTC)
    [(change, at)] = _history(item_id)
    assert change == "resolved" and before <= at <= after
