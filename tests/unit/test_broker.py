"""The embedded broker under a producer and a consumer at full speed: every message arrives
whole. kombu's own filesystem transport let a consumer take a message file before its bytes
were written, and the Celery worker stopped on the empty file (JSONDecodeError)."""

from __future__ import annotations

import importlib
import json
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from kombu import Connection

from messaging.celery_app import broker_options, broker_transport
from runtime.settings import Settings

MESSAGES = 400
BODY = "x" * 200_000  # a large write widens the window a consumer could fall into


def _connection(folder: Path, transport: Any) -> Connection:
    settings = Settings(environment="development", redis_url=None, broker_dir=folder)
    return Connection(
        "filesystem://", transport=transport, transport_options=broker_options(settings)
    )


def _name() -> str:
    # kombu keeps declared queues per transport class for the whole process: a fresh name
    # makes each test declare its own in its own folder.
    return f"race{uuid.uuid4().hex}"


def _race(folder: Path, transport: Any) -> list[Any]:
    """Publish and consume at once; returns what the consumer got, or the error it met."""
    got: list[Any] = []
    name = _name()

    def consume() -> None:
        with _connection(folder, transport) as connection:
            queue = connection.SimpleQueue(name)
            try:
                while len(got) < MESSAGES:
                    message = queue.get(timeout=30)
                    got.append(message.payload)
                    message.ack()
            except Exception as exc:  # the failure under test, reported to the assertion
                got.append(exc)
            finally:
                queue.close()

    consumer = threading.Thread(target=consume)
    consumer.start()
    with _connection(folder, transport) as connection:
        queue = connection.SimpleQueue(name)
        for n in range(MESSAGES):
            queue.put({"n": n, "body": BODY})
        queue.close()
    consumer.join(timeout=120)
    return got


def test_a_consumer_never_takes_a_half_written_message(tmp_path: Path) -> None:
    transport = broker_transport(Settings(environment="development", redis_url=None))
    assert transport is not None
    got = _race(tmp_path, transport)
    errors = [item for item in got if isinstance(item, Exception)]
    assert not errors, errors[:1]
    assert sorted(item["n"] for item in got) == list(range(MESSAGES))
    assert all(item["body"] == BODY for item in got)
    assert not list((tmp_path / "queue").glob("*.part")), "no partial file left behind"


@pytest.mark.parametrize(
    ("transport", "module", "visible"),
    [
        ("messaging.broker:Transport", "messaging.broker", False),
        ("filesystem", "kombu.transport.filesystem", True),
    ],
    ids=["ours", "kombu's"],
)
def test_while_a_message_is_written_no_consumer_can_see_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, transport: str, module: str, visible: bool
) -> None:
    """The moment the message's bytes are made, what a consumer listing the queue would take.
    kombu's own transport has already created the (empty) file; ours has not."""
    seen: list[list[str]] = []
    real = importlib.import_module(module).dumps
    name = _name()

    def dumps(payload: Any) -> Any:
        seen.append(sorted(p.name for p in (tmp_path / "queue").glob(f"*.{name}.msg")))
        return real(payload)

    monkeypatch.setattr(f"{module}.dumps", dumps)
    with _connection(tmp_path, transport) as connection:
        queue = connection.SimpleQueue(name)
        queue.put({"n": 1})
        assert queue.get(timeout=5).payload == {"n": 1}
        queue.close()
    assert len(seen) >= 2 and any(seen) is visible, seen  # the exchange table, the message


@pytest.mark.parametrize("redis_url", ["redis://127.0.0.1:6379/0"])
def test_redis_keeps_its_own_transport(redis_url: str) -> None:
    assert broker_transport(Settings(environment="development", redis_url=redis_url)) is None


def _bind_race(folder: Path, transport: str, rounds: int = 40) -> list[Exception]:
    """Four processes' worth of channels bind queues to one new exchange at the same moment
    while two others read its table; returns what they met."""
    errors: list[Exception] = []
    for _ in range(rounds):
        exchange = _name()
        start = threading.Barrier(6)

        def bind(n: int, exchange: str = exchange, start: threading.Barrier = start) -> None:
            try:
                with _connection(folder, transport) as connection:
                    channel = connection.default_channel
                    start.wait()
                    channel._queue_bind(exchange, f"key{n}", "", f"queue{n}")
            except Exception as exc:
                errors.append(exc)

        def read(exchange: str = exchange, start: threading.Barrier = start) -> None:
            try:
                with _connection(folder, transport) as connection:
                    channel = connection.default_channel
                    start.wait()
                    for _ in range(50):
                        channel.get_table(exchange)
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=bind, args=(n,)) for n in range(4)]
        threads += [threading.Thread(target=read) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    return errors


def test_an_exchange_table_is_never_read_half_made(tmp_path: Path) -> None:
    """kombu created the table of an exchange empty and wrote it after: a process binding or
    publishing at that moment failed with JSONDecodeError (met once in the whole suite).
    Four channels bind and two read one new exchange at once, forty times: never an error."""
    assert _bind_race(tmp_path, "messaging.broker:Transport") == []


@pytest.mark.parametrize(
    ("transport", "first_seen"),
    [("messaging.broker:Transport", "absent"), ("filesystem", "empty")],
    ids=["ours", "kombu's"],
)
def test_a_new_exchange_table_is_whole_before_anyone_can_open_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, transport: str, first_seen: str
) -> None:
    """The moment the first binding's table is made into bytes: kombu's file already
    exists, empty, for any reader to fail on (or to route a message nowhere); ours does
    not exist yet, and appears holding its binding."""
    exchange = _name()
    table = tmp_path / "control" / f"{exchange}.exchange"
    seen: list[str] = []
    for module in ("kombu.transport.filesystem", "messaging.broker"):
        real = importlib.import_module(module).dumps

        def dumps(payload: Any, real: Any = real) -> Any:
            if not seen:
                seen.append("absent" if not table.exists() else table.read_text() or "empty")
            return real(payload)

        monkeypatch.setattr(f"{module}.dumps", dumps)
    settings = Settings(environment="development", redis_url=None, broker_dir=tmp_path)
    with Connection(
        "filesystem://", transport=transport, transport_options=broker_options(settings)
    ) as conn:
        conn.default_channel._queue_bind(exchange, "key", "", "queue")
    assert seen == [first_seen]
    assert json.loads(table.read_text()) == [["key", "", "queue"]]
