"""What the write rate limit and the security headers cost per POST, on this machine.

    .venv/bin/python bench/ratelimit.py [--requests 20000] [--redis-url URL]

Calls the real middleware (api.security.RateLimit and api.headers.SecurityHeaders) around an
ASGI app that answers 201 at once, directly on a uvloop event loop (no HTTP, no database),
so the figures are the middleware's own: CPU microseconds per request beyond the bare app,
with the limit off, counted in this process, and counted in Redis (one EVALSHA round trip
through redis-py's asyncio client).
The budget is about 50 us per POST: ingest runs 300+ POST/s on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api import headers, security
from api.auth import create_token
from runtime.settings import Settings

SECRET = "bench-secret-" + "x" * 40


async def created(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 201, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def drive(app: Any, token: str, requests: int) -> tuple[float, float]:
    """CPU and wall microseconds per request."""
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/fhir/Observation",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/fhir+json"),
            (b"authorization", f"Bearer {token}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
    }
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    for _ in range(200):  # warm up: the token cache, a pooled connection
        await app(dict(scope), receive, send)
    statuses.clear()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(requests):
        await app(dict(scope), receive, send)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert set(statuses) == {201}, f"refused or failed: {sorted(set(statuses))}"
    return cpu / requests * 1e6, wall / requests * 1e6


def stack(settings: Settings) -> Any:
    return headers.SecurityHeaders(security.RateLimit(created, settings=settings))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7")
    args = parser.parse_args()
    base: dict[str, Any] = {"environment": "test", "jwt_secret": SECRET}
    huge = 10**9  # never refuses: the cost of counting, not of refusing
    configs = {
        "bare app (no middleware)": None,
        "limit off (0), headers on": Settings(**base, rate_limit_staff_per_minute=0),
        "in-process bucket": Settings(**base, rate_limit_staff_per_minute=huge),
        "Redis bucket": Settings(
            **base, redis_url=args.redis_url, rate_limit_staff_per_minute=huge
        ),
    }
    token = create_token(Settings(**base), role="clinician", subject="bench:ratelimit")
    baseline = None
    for name, settings in configs.items():
        app = created if settings is None else stack(settings)
        cpu, wall = uvloop.run(drive(app, token, args.requests))
        baseline = cpu if baseline is None else baseline
        extra = "" if settings is None else f"  (+{cpu - baseline:5.1f} us CPU over the bare app)"
        print(f"{name:28s} CPU {cpu:6.1f} us/request, wall {wall:6.1f} us{extra}")


if __name__ == "__main__":
    main()
