"""An open-loop load generator for bench/e2e.py: requests leave at the times of a fixed
schedule, whether or not earlier ones have been answered, so a server that slows down
shows up as latency and backlog instead of a lower offered rate (a closed-loop client,
waiting for each answer before it sends the next, hides saturation).

HTTP/1.1 over keep-alive connections written by hand on asyncio streams: a request is a
few hundred bytes prepared before the run, so the generator costs little CPU on the same
two cores as the server (its own CPU time is reported beside the server's). When every
connection is busy a new one is opened, up to ``max_connections``; past that, requests
wait for a connection and the wait counts in their latency (their send time is the
scheduled one).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

ATTEMPTS = 8
KEEP_ALIVE = 4.0  # seconds an idle connection is reused (uvicorn closes them after 5)


@dataclass
class Sent:
    """One request's outcome: its scheduled time (epoch), status and the JSON answer."""

    at: float
    status: int
    answer: Any
    done: float


@dataclass
class Request:
    path: str
    body: bytes
    on_answer: Callable[[Sent], None] | None = None


@dataclass
class Connections:
    host: str
    port: int
    headers: dict[str, str]
    max_connections: int = 256
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = field(
        default_factory=list
    )
    opened: int = 0
    waiters: list[asyncio.Future[None]] = field(default_factory=list)
    resent: int = 0  # sent again after the connection broke (an app would, too)
    failed: int = 0  # given up after ATTEMPTS

    async def take(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while True:
            while self.idle:
                reader, writer, since = self.idle.pop()
                if time.monotonic() - since < KEEP_ALIVE:
                    return reader, writer
                writer.close()  # the server may have closed it by now (uvicorn: after 5 s)
                self.opened -= 1
            if self.opened < self.max_connections:
                self.opened += 1
                try:
                    return await asyncio.open_connection(self.host, self.port)
                except OSError:
                    self.opened -= 1
                    raise
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self.waiters.append(waiter)
            await waiter

    def give(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None) -> None:
        if conn is None:
            self.opened -= 1
        else:
            self.idle.append((*conn, time.monotonic()))
        while self.waiters:
            waiter = self.waiters.pop(0)
            if not waiter.done():
                waiter.set_result(None)
                break

    def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()
        self.opened -= len(self.idle)
        self.idle.clear()

    async def send(self, request: Request) -> tuple[int, Any]:
        """Send one POST and read its answer; on a broken connection the request is sent
        again on another (each body carries its own identifier, so the service stores it
        once), up to ``ATTEMPTS`` times; then its status is 0."""
        head = (
            f"POST {request.path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Content-Length: {len(request.body)}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in self.headers.items())
            + "\r\n"
        ).encode()
        for attempt in range(ATTEMPTS):
            conn = await self.take()
            reader, writer = conn
            try:
                writer.write(head + request.body)
                status_line = await reader.readline()
                if not status_line:
                    raise ConnectionResetError("closed by the server")
                status = int(status_line.split()[1])
                length, close = 0, False
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b""):
                        break
                    name, _, value = line.decode("latin-1").partition(":")
                    name = name.strip().lower()
                    if name == "content-length":
                        length = int(value)
                    elif name == "connection" and value.strip().lower() == "close":
                        close = True
                body = await reader.readexactly(length) if length else b""
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                writer.close()
                self.give(None)
                self.resent += 1
                await asyncio.sleep(0.05 * attempt)
                continue
            if close:
                writer.close()
                self.give(None)
            else:
                self.give(conn)
            return status, json.loads(body) if body else None
        self.failed += 1
        return 0, None


async def run_schedule(
    connections: Connections, requests: Iterable[Request], rate: float
) -> list[Sent]:
    """Send ``requests`` at ``rate`` per second from now, each at its own scheduled time,
    and return their outcomes once all are answered."""
    loop = asyncio.get_running_loop()
    start_mono, start_wall = time.monotonic(), time.time()
    outcomes: list[Sent] = []
    tasks: set[asyncio.Task[None]] = set()

    async def one(request: Request, at: float) -> None:
        status, answer = await connections.send(request)
        sent = Sent(at, status, answer, time.time())
        outcomes.append(sent)
        if request.on_answer is not None:
            request.on_answer(sent)

    for i, request in enumerate(requests):
        due = start_mono + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        task = loop.create_task(one(request, start_wall + i / rate))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    while tasks:
        await asyncio.gather(*list(tasks))
    return outcomes
