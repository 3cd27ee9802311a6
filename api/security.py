"""Security basics in front of the app: write rate limits, CORS (closed by default), and the
security headers of :mod:`api.headers`.

Rate limits are token buckets keyed by the verified token's subject (a fresh token for the
same subject shares the bucket), in Redis when ``REDIS_URL`` is set so every API process
counts together (``redis://``, ``rediss://`` with TLS, ``unix://``), in this process
otherwise. When Redis does not answer, writes are accepted (fail open): refusing patients'
data because the limiter's store is down would lose more than the limit protects.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import AsyncIterator, Iterable
from http.cookies import SimpleCookie
from typing import Any

import jwt
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import decode_token
from api.errors import error_response
from api.headers import SecurityHeaders
from api.web.i18n import Words
from api.web.pages import COOKIE, fragment, language
from api.web.patient_form import too_many_tries
from runtime import caches
from runtime.settings import Settings

log = logging.getLogger(__name__)

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOGIN_PATH = "/app/login"
FORM_PREFIX = "/skjema/"  # the patients' form: the link's token is the credential
FORM_FAILURES = frozenset({400, 404, 410})  # an altered, unknown, expired or used link
KEY_PREFIX = "triage:ratelimit:"
REDIS_TIMEOUT = 0.5  # seconds for one check (connect included)
REDIS_PAUSE = 5.0  # after a failure, seconds without asking Redis (accepting every write)


# --- token buckets ------------------------------------------------------------------------

# KEYS[1] the bucket; ARGV: tokens per millisecond, capacity, cost (0 = only look).
# Returns 0 when allowed, else the milliseconds until a token is there. Redis's own clock,
# so API processes on several machines agree.
BUCKET_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
if now > at then
  tokens = math.min(burst, tokens + (now - at) * rate)
  at = now
end
local wait = 0
if tokens < 1 then
  wait = math.ceil((1 - tokens) / rate)
else
  tokens = tokens - cost
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
return wait
"""


class LocalBuckets:
    """Token buckets in this process (no Redis configured)."""

    LIMIT = 50_000  # buckets kept before the full (idle) ones are dropped

    def __init__(self) -> None:
        self._buckets: dict[str, list[float]] = {}

    async def take(self, key: str, per_minute: int, cost: int = 1) -> float:
        """0 when allowed (``cost`` tokens taken), else seconds until a token is there."""
        now = time.monotonic()
        rate = per_minute / 60.0
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.LIMIT:
                self._prune(now)
            bucket = self._buckets[key] = [float(per_minute), now]
        tokens = min(float(per_minute), bucket[0] + (now - bucket[1]) * rate)
        bucket[1] = now
        if tokens < 1:
            bucket[0] = tokens
            return (1 - tokens) / rate
        bucket[0] = tokens - cost
        return 0.0

    def _prune(self, now: float) -> None:
        full = [k for k, (tokens, at) in self._buckets.items() if now - at > 60.0]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= self.LIMIT:
            self._buckets.clear()


class RedisUnavailable(Exception):
    """Redis did not answer as expected; the caller accepts the write."""


class RedisBuckets:
    """Token buckets in Redis through redis-py's asyncio client: one EVALSHA round trip per
    check (the script is loaded again by itself if Redis forgot it).

    redis-py's connections belong to the event loop that opened them, so each loop gets a
    client of its own (uvicorn runs one loop; a test client may run one per request), and
    the loop closes that client when it shuts down.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.script: AsyncScript = self.new_client().register_script(BUCKET_LUA)
        self._clients: dict[asyncio.AbstractEventLoop, tuple[Redis, AsyncIterator[None]]] = {}
        self._paused_until = 0.0

    def new_client(self) -> Redis:
        """A client of ``url`` (TLS for ``rediss://``); raises ``ValueError`` for a URL
        redis-py does not take. One try per check: the limiter fails open instead."""
        return Redis.from_url(
            self.url,
            socket_timeout=REDIS_TIMEOUT,
            socket_connect_timeout=REDIS_TIMEOUT,
            retry=Retry(NoBackoff(), 0),
        )

    async def take(self, key: str, per_minute: int, cost: int = 1) -> float:
        """As :meth:`LocalBuckets.take`; raises :class:`RedisUnavailable`."""
        if self._paused_until and time.monotonic() < self._paused_until:
            raise RedisUnavailable("paused after a failure")
        rate = per_minute / 60_000.0
        try:
            async with asyncio.timeout(REDIS_TIMEOUT):
                client = await self._client()
                args = (rate, per_minute, cost)
                reply = await self.script(keys=[KEY_PREFIX + key], args=args, client=client)
            if not isinstance(reply, int):
                raise RedisUnavailable(f"unexpected reply {type(reply).__name__}")
        except (RedisError, OSError, TimeoutError, ValueError, RedisUnavailable) as exc:
            if not self._paused_until:
                log.warning(
                    "rate limiter: Redis did not answer (%s); writes are accepted without a "
                    "limit until it does",
                    exc.__class__.__name__,
                )
            self._paused_until = time.monotonic() + REDIS_PAUSE
            raise RedisUnavailable(exc.__class__.__name__) from None
        if self._paused_until:
            log.info("rate limiter: Redis answers again; limits apply")
            self._paused_until = 0.0
        return reply / 1000.0

    async def _client(self) -> Redis:
        """This event loop's client."""
        loop = asyncio.get_running_loop()
        entry = self._clients.get(loop)
        if entry is None:
            client = self.new_client()
            closer = _close_with_loop(client, self._clients, loop)
            entry = self._clients[loop] = (client, closer)
            await anext(closer)  # now it waits for the loop's end
        return entry[0]


async def _close_with_loop(
    client: Redis, clients: dict[Any, Any], loop: asyncio.AbstractEventLoop
) -> AsyncIterator[None]:
    """Suspended until its event loop shuts down: a loop's ``shutdown_asyncgens`` (which
    asyncio.run, uvloop.run and anyio call before closing it) closes every suspended async
    generator, and this one then closes the client while the loop still runs."""
    try:
        yield
    finally:
        clients.pop(loop, None)
        await client.aclose()


# One Redis client per URL in this process (each API process has its own).
_redis_buckets = caches.lru("security.redis_buckets", maxsize=16)
_redis_lock = threading.Lock()


def buckets_for(settings: Settings) -> LocalBuckets | RedisBuckets:
    """Shared through Redis when configured (one client per URL and process)."""
    url = settings.redis_url
    if not url:
        return LocalBuckets()
    with _redis_lock:
        buckets: RedisBuckets | None = _redis_buckets.get(url)
        if buckets is None:
            try:
                buckets = _redis_buckets[url] = RedisBuckets(url)
            except ValueError as exc:
                log.warning("rate limiter: %s; limits are counted in each process", exc)
                return LocalBuckets()
    return buckets


# --- the middleware -------------------------------------------------------------------------


class RateLimit:
    """Writes limited per token subject (patient or staff rate); failed web sign-ins limited
    per client address. A refusal is ``429`` with ``Retry-After`` and stores nothing."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.patient_rate = settings.rate_limit_patient_per_minute
        self.staff_rate = settings.rate_limit_staff_per_minute
        self.login_rate = settings.rate_limit_login_per_minute
        self.buckets = buckets_for(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(FORM_PREFIX):
            await self._failures(scope, receive, send, "form:", FORM_FAILURES)
            return
        if scope["type"] != "http" or scope["method"] not in WRITES:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == LOGIN_PATH:
            await self._failures(scope, receive, send, "login:", frozenset({401, 403}))
            return
        token = _token(scope["headers"], path)
        if token is None:  # no credentials: the app answers 401 (or the sign-in page)
            await self.app(scope, receive, send)
            return
        try:
            principal = decode_token(self.settings, token)
        except jwt.InvalidTokenError:
            await self.app(scope, receive, send)
            return
        rate = self.patient_rate if principal.role == "patient" else self.staff_rate
        if rate:
            wait = await self._take(principal.subject, rate, 1)
            if wait:
                await _refuse(scope, receive, send, wait, "too many writes for this token")
                return
        await self.app(scope, receive, send)

    async def _take(self, key: str, per_minute: int, cost: int) -> float:
        try:
            return await self.buckets.take(key, per_minute, cost)
        except RedisUnavailable:
            return 0.0  # fail open (logged once by the store)

    async def _failures(
        self, scope: Scope, receive: Receive, send: Send, prefix: str, failed: frozenset[int]
    ) -> None:
        """Only failures count, per client address, at the sign-in rate: many clinicians
        behind one hospital proxy address sign in every morning, a guesser fails; a patient
        opens a good form link, a guesser tries altered ones (any method)."""
        if not self.login_rate:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        key = prefix + (client[0] if client else "unknown")
        wait = await self._take(key, self.login_rate, 0)
        if wait:
            await _refuse(scope, receive, send, wait, "too many failed attempts from this address")
            return

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in failed:
                await self._take(key, self.login_rate, 1)
            await send(message)

        await self.app(scope, receive, counting_send)


def _token(headers: Iterable[tuple[bytes, bytes]], path: str) -> str | None:
    """The bearer token, or on the web pages the sign-in cookie's token."""
    cookie = None
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            token = token.strip()
            return token if scheme.lower() == "bearer" and token else None
        if name == b"cookie":
            cookie = value
    if cookie is not None and path.startswith("/app"):
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(cookie.decode("latin-1"))
        except Exception:  # a malformed cookie header: no credentials
            return None
        morsel = jar.get(COOKIE)
        return morsel.value.strip() if morsel and morsel.value.strip() else None
    return None


async def _refuse(scope: Scope, receive: Receive, send: Send, wait: float, text: str) -> None:
    seconds = max(1, math.ceil(wait))
    text = f"{text}; nothing was stored, send it again in {seconds} s"
    headers = {"Retry-After": str(seconds)}
    response: Response
    if scope["path"] == LOGIN_PATH:  # a person in a browser: the sign-in page again
        response = HTMLResponse(_login_page(scope, seconds), 429, headers=headers)
    elif scope["path"].startswith(FORM_PREFIX):  # a patient in a browser: a plain page
        response = too_many_tries(seconds)
        response.headers.update(headers)
    else:
        response = error_response(scope["path"], 429, text, headers=headers)
    await response(scope, receive, send)


def _login_page(scope: Scope, seconds: int) -> str:
    """The sign-in page again, saying why and for how long."""
    request = Request(scope)
    error = Words(language(request))("too_many_sign_ins", seconds=seconds)
    return fragment(request, "login.html", error=error)


# --- installing ---------------------------------------------------------------------------


def cors_origins(settings: Settings) -> list[str]:
    return [o.strip().rstrip("/") for o in settings.cors_origins.split(",") if o.strip()]


def install(app: FastAPI, settings: Settings) -> None:
    """Add the middleware, innermost first: the rate limit (before any body is read), the
    headers (on 429 and 413 answers too), CORS outermost so a browser can read refusals."""
    app.add_middleware(RateLimit, settings=settings)
    app.add_middleware(SecurityHeaders, hsts=settings.hsts)
    origins = cors_origins(settings)
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            allow_credentials=False,
            expose_headers=["Location", "Retry-After", "X-Request-ID"],
        )
