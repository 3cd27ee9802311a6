"""The notification outbox delivered to a real webhook (a server in the test that checks the
HMAC signature and the idempotency key): failures are retried with growing waits, nothing is
lost, nothing is taken twice under different keys, and after a day an event is failed.
Without NOTIFY_URL events are logged with ids and kind only. Both databases."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Iterator

import pytest

from runtime import caches
from store.db import session_scope
from tests.conftest import Service
from tests.integration.notify_helpers import SECRET, new_patient_row, next_time, receiver, rows
from usecases import notifications

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def channel(service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("NOTIFY_SECRET", SECRET)
    monkeypatch.setenv("NOTIFY_RETRY_BASE_SECONDS", "30")
    monkeypatch.setenv("NOTIFY_RETRY_MAX_SECONDS", "3600")
    yield
    monkeypatch.undo()
    caches.reset()


def use_url(monkeypatch: pytest.MonkeyPatch, url: str | None) -> None:
    if url is None:
        monkeypatch.delenv("NOTIFY_URL", raising=False)
    else:
        monkeypatch.setenv("NOTIFY_URL", url)
    caches.reset()


def keys(pid: str) -> list[str]:
    """The three events' keys, in sorted order (a task and an upload of this patient)."""
    return [f"result:qr-{pid}:1:epilepsy", f"task:t-{pid}:ready", f"task:t-{pid}:reminder:1"]


def enqueue_three(pid: str) -> None:
    result, ready, reminder = keys(pid)
    with session_scope() as session:
        for kind, key, ids in (
            ("task-ready", ready, {"task_id": f"t-{pid}"}),
            ("reminder", reminder, {"task_id": f"t-{pid}"}),
            ("result-ready", result, {"resource_id": f"qr-{pid}"}),
        ):
            made = notifications.enqueue(
                session, kind, pid, pathway_id="epilepsy", key=key, now=T0, **ids
            )
            assert made is not None
        again = notifications.enqueue(
            session, "task-ready", pid, pathway_id="epilepsy", key=ready, now=T0
        )
        assert again is None  # the same key in the same transaction: a no-op, no error


def run_until_settled(pid: str, start: dt.datetime, steps: int = 200) -> list[dt.datetime]:
    """Deliver at ``start``, then at each next attempt time, until nothing is pending."""
    now: dt.datetime | None = start
    times = []
    for _ in range(steps):
        if now is None:
            return times
        times.append(now)
        notifications.deliver_due(now)
        now = next_time(pid)
    raise AssertionError("still pending after many rounds")


def test_two_failures_are_retried_and_each_event_is_taken_once_under_its_key(
    channel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = new_patient_row()
    enqueue_three(pid)
    with receiver([500, 500]) as hook:
        use_url(monkeypatch, hook.url)
        assert notifications.deliver_due(T0 - dt.timedelta(seconds=1)) == 0  # not due yet
        run_until_settled(pid, T0)
    assert all(r.signed and r.key for r in hook.received)
    taken = sorted(r.key or "" for r in hook.accepted())
    assert taken == keys(pid)
    assert len(hook.received) == 5  # two refused, three taken
    by_id: dict[str, set[str | None]] = {}
    for request in hook.received:
        by_id.setdefault(request.event["id"], set()).add(request.key)
    assert all(len(keys) == 1 for keys in by_id.values())  # every retry under the same key
    stored = rows(pid)
    assert [r.status for r in stored] == ["sent"] * 3
    assert sorted(r.attempts for r in stored) == [1, 1, 3] or sorted(
        r.attempts for r in stored
    ) == [1, 2, 2]
    event = hook.accepted()[0].event
    assert set(event) == {"id", "kind", "patient", "pathway", "task", "resource", "link", "created"}
    assert event["patient"] == pid and event["pathway"] == "epilepsy"


def test_a_channel_that_never_answers_2xx_gets_backed_off_retries_for_a_day_then_failed(
    channel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = new_patient_row()
    with session_scope() as session:
        notifications.enqueue(
            session, "reminder", pid, pathway_id="epilepsy", key=f"{pid}:r:1", now=T0
        )
    with receiver([503] * 500) as hook:
        use_url(monkeypatch, hook.url)
        times = run_until_settled(pid, T0)
    (row,) = rows(pid)
    assert (row.status, row.last_error, row.next_attempt_at) == ("failed", "HTTP 503", None)
    assert row.attempts == len(hook.received) == len(times)
    assert times[-1] == T0 + dt.timedelta(days=1)  # the last try at the day's end
    waits = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    for k in range(6):  # the ceiling doubles from 30 s; half of each wait is jitter
        assert 15 * 2**k <= waits[k] <= 30 * 2**k, (k, waits[:6])
    assert max(waits) <= 3600
    assert len({r.key for r in hook.received}) == 1


def test_without_notify_url_events_are_logged_with_ids_and_kind_only(
    channel: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    use_url(monkeypatch, None)
    pid = new_patient_row()
    enqueue_three(pid)
    with caplog.at_level(logging.INFO):
        assert notifications.deliver_due(T0) == 3
    assert [r.status for r in rows(pid)] == ["logged"] * 3
    assert all(r.sent_at == T0 and r.attempts == 1 for r in rows(pid))
    lines = [r.getMessage() for r in caplog.records if "notification" in r.getMessage()]
    assert len(lines) == 3 and all("logged" in line for line in lines)
    assert not [line for line in caplog.messages if pid in line]
    assert notifications.deliver_due(T0 + dt.timedelta(hours=1)) == 0  # once only
