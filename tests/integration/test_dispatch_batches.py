"""The API's dispatch thread (messaging/dispatch.py) hands committed uploads to the broker:
a lone upload goes out at once in a message of its own, and uploads committed while a
message has just gone out wait for the next one (at most LINGER, or until a message is
full) and go out together, so a busy service sends one Celery message for many uploads
(issue 15). Read back from Redis itself."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator

import pytest
import redis

from messaging import dispatch as dispatch_module
from messaging.celery_app import TRIAGE_OUTBOX, TRIAGE_OUTBOXES
from tests.conftest import REDIS_TEST_URL, Service

QUEUE = "celery"


@pytest.fixture
def broker(pg_service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[redis.Redis]:
    """The test's Redis queue, emptied, and a dispatch thread of the test's own: the
    process's thread may have sent a moment ago for an earlier test, and would then hold
    the first upload for a whole linger."""
    monkeypatch.setattr(dispatch_module, "_background", dispatch_module._Background())
    client = redis.Redis.from_url(REDIS_TEST_URL)
    client.delete(QUEUE)
    yield client
    client.delete(QUEUE)


def _messages(broker: redis.Redis, ids: int, wait: float = 20.0) -> list[tuple[str, list[int]]]:
    """(task, outbox ids) of each message in the queue, oldest first, once ``ids`` arrived."""
    deadline = time.monotonic() + wait
    while True:
        found = []
        for raw in reversed(broker.lrange(QUEUE, 0, -1)):  # kombu pushes on the left
            message = json.loads(raw)
            args = json.loads(base64.b64decode(message["body"]))[0]
            task = message["headers"]["task"]
            found.append((task, list(args[0]) if task == TRIAGE_OUTBOXES else list(args)))
        if sum(len(got) for _, got in found) >= ids or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_a_lone_upload_goes_alone_and_uploads_close_together_go_together(
    broker: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A linger far longer than the test: what follows the first message can only go out
    # when a full message (BATCH rows) has gathered, whatever the machine's speed.
    monkeypatch.setattr(dispatch_module, "LINGER", 600.0)
    dispatch_module.dispatch_soon([900_000])  # the thread was quiet: this goes at once
    assert _messages(broker, 1) == [(TRIAGE_OUTBOX, [900_000])]
    busy = list(range(900_001, 900_001 + dispatch_module.BATCH))
    for n, outbox_id in enumerate(busy):
        dispatch_module.dispatch_soon([outbox_id])
        if n < 5:
            time.sleep(0.1)  # the first few a tenth of a second apart, as requests come
    found = _messages(broker, 1 + len(busy))[1:]
    # They waited for the next message and went out in it, in order, each once.
    assert found == [(TRIAGE_OUTBOXES, busy)]
