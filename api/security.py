"""Security basics in front of the app: write rate limits, CORS (closed by default) and
security headers on every response.

Rate limits are token buckets keyed by the verified token's subject (a fresh token for the
same subject shares the bucket), in Redis when ``REDIS_URL`` is set so every API process
counts together, in this process otherwise. The Redis client is a few lines of RESP over a
plain non-blocking socket: redis-py cost about 75 us of CPU per call, this about 20 us, and
a socket (unlike an asyncio stream) is not tied to one event loop. When Redis does not
answer, writes are accepted (fail open): refusing patients' data because the limiter's
store is down would lose more than the limit protects.
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import json
import logging
import math
import socket
import time
from collections.abc import Iterable
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jwt
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import decode_token
from api.web.i18n import Words
from api.web.pages import COOKIE, fragment, language
from runtime.settings import Settings

log = logging.getLogger(__name__)

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOGIN_PATH = "/app/login"
KEY_PREFIX = "triage:ratelimit:"
REDIS_TIMEOUT = 0.5  # seconds for one round trip (connect included)
REDIS_PAUSE = 5.0  # after a failure, seconds without asking Redis (accepting every write)

WEB_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"
COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
# Swagger UI (/docs) loads its script and styles from a CDN with inline code: no CSP there.
NO_CSP_PATHS = frozenset({"/docs", "/docs/oauth2-redirect"})
# Answers without patient data that a cache may keep; everything else is no-store.
CACHEABLE_PREFIXES = ("/app/static/", "/fhir/metadata", "/health", "/ready", "/metrics", "/docs")


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
BUCKET_SHA = hashlib.sha1(BUCKET_LUA.encode()).hexdigest()


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


def _command(*parts: str | int | float) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        data = str(part).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class RedisBuckets:
    """Token buckets in Redis: one EVALSHA round trip per check on a pooled socket."""

    IDLE = 16  # sockets kept for reuse

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "unix"):
            raise ValueError(f"the rate limiter speaks redis:// and unix://, not {parts.scheme}://")
        query = parse_qs(parts.query)
        self.unix_path = parts.path if parts.scheme == "unix" else None
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 6379
        db = query.get("db", [""])[0] if self.unix_path else parts.path.lstrip("/")
        self.db = int(db or 0)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self._idle: list[socket.socket] = []
        self._paused_until = 0.0
        atexit.register(self.close)

    async def take(self, key: str, per_minute: int, cost: int = 1) -> float:
        """As :meth:`LocalBuckets.take`; raises :class:`RedisUnavailable`."""
        if self._paused_until and time.monotonic() < self._paused_until:
            raise RedisUnavailable("paused after a failure")
        rate = per_minute / 60_000.0
        try:
            reply = await self._script(KEY_PREFIX + key, rate, per_minute, cost)
        except (OSError, TimeoutError, ValueError, RedisUnavailable) as exc:
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

    async def _script(self, key: str, rate: float, burst: int, cost: int) -> int:
        loop = asyncio.get_running_loop()
        sock = None
        try:
            async with asyncio.timeout(REDIS_TIMEOUT):
                sock = self._idle.pop() if self._idle else await self._connect(loop)
                args = (key, repr(rate), burst, cost)
                line = await self._call(loop, sock, _command("EVALSHA", BUCKET_SHA, 1, *args))
                if line.startswith(b"-NOSCRIPT"):
                    line = await self._call(loop, sock, _command("EVAL", BUCKET_LUA, 1, *args))
            if not line.startswith(b":"):
                raise RedisUnavailable(line[:80].decode(errors="replace"))
            value = int(line[1:])
        except BaseException:
            if sock is not None:
                sock.close()  # a reply may still be on its way: never reuse it
            raise
        if len(self._idle) < self.IDLE:
            self._idle.append(sock)
        else:
            sock.close()
        return value

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> socket.socket:
        if self.unix_path:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            address: Any = self.unix_path
        else:
            infos = await loop.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
            family, kind, proto, _, address = infos[0]
            sock = socket.socket(family, kind, proto)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, address)
            if self.password:
                who = (self.username,) if self.username else ()
                await self._ok(loop, sock, _command("AUTH", *who, self.password))
            if self.db:
                await self._ok(loop, sock, _command("SELECT", self.db))
        except BaseException:
            sock.close()
            raise
        return sock

    async def _ok(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, cmd: bytes) -> None:
        line = await self._call(loop, sock, cmd)
        if not line.startswith(b"+OK"):
            raise RedisUnavailable(line[:80].decode(errors="replace"))

    @staticmethod
    async def _call(loop: asyncio.AbstractEventLoop, sock: socket.socket, cmd: bytes) -> bytes:
        """Send one command and read its one-line reply (all replies used here are one line)."""
        await loop.sock_sendall(sock, cmd)
        data = b""
        while not data.endswith(b"\r\n"):
            chunk = await loop.sock_recv(sock, 1024)
            if not chunk:
                raise ConnectionError("Redis closed the connection")
            data += chunk
        return data

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()


_redis_buckets: dict[str, RedisBuckets] = {}


def buckets_for(settings: Settings) -> LocalBuckets | RedisBuckets:
    """Shared through Redis when configured (one client per URL and process)."""
    url = settings.redis_url
    if not url:
        return LocalBuckets()
    if url not in _redis_buckets:
        try:
            _redis_buckets[url] = RedisBuckets(url)
        except ValueError as exc:
            log.warning("rate limiter: %s; limits are counted in each process", exc)
            return LocalBuckets()
    return _redis_buckets[url]


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
        if scope["type"] != "http" or scope["method"] not in WRITES:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == LOGIN_PATH:
            await self._login(scope, receive, send)
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
                await _refuse(scope, send, wait, "too many writes for this token")
                return
        await self.app(scope, receive, send)

    async def _take(self, key: str, per_minute: int, cost: int) -> float:
        try:
            return await self.buckets.take(key, per_minute, cost)
        except RedisUnavailable:
            return 0.0  # fail open (logged once by the store)

    async def _login(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Only failed sign-ins count: many clinicians behind one hospital proxy address
        sign in every morning, a guesser fails."""
        if not self.login_rate:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        key = "login:" + (client[0] if client else "unknown")
        wait = await self._take(key, self.login_rate, 0)
        if wait:
            await _refuse(scope, send, wait, "too many failed sign-ins from this address")
            return

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (401, 403):
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


async def _refuse(scope: Scope, send: Send, wait: float, text: str) -> None:
    seconds = max(1, math.ceil(wait))
    text = f"{text}; nothing was stored, send it again in {seconds} s"
    path: str = scope["path"]
    if path.startswith("/fhir"):
        body: Any = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "throttled", "diagnostics": text}],
        }
        payload, media = json.dumps(body).encode(), b"application/fhir+json"
    elif path == LOGIN_PATH:
        payload, media = _login_page(scope, seconds), b"text/html; charset=utf-8"
    else:
        payload, media = json.dumps({"error": text}).encode(), b"application/json"
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", media),
                (b"content-length", str(len(payload)).encode()),
                (b"retry-after", str(seconds).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def _login_page(scope: Scope, seconds: int) -> bytes:
    """The sign-in page again, saying why and for how long (the person is in a browser)."""
    request = Request(scope)
    error = Words(language(request))("too_many_sign_ins", seconds=seconds)
    return fragment(request, "login.html", error=error).encode()


# --- headers --------------------------------------------------------------------------------


class SecurityHeaders:
    """CSP, nosniff, frame and referrer policy on every response (the pages' strict CSP under
    /app, a deny-all one on the JSON API); ``no-store`` where patient data may be; HSTS when
    configured. A header the route set itself is kept."""

    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        common = dict(COMMON_HEADERS)
        if hsts:
            common["Strict-Transport-Security"] = HSTS
        self.common = [(k.lower().encode(), v.encode()) for k, v in common.items()]

    def headers_for(self, path: str) -> list[tuple[bytes, bytes]]:
        extra: list[tuple[bytes, bytes]] = []
        if path.startswith("/app"):
            extra.append((b"content-security-policy", WEB_CSP.encode()))
        elif path not in NO_CSP_PATHS:
            extra.append((b"content-security-policy", API_CSP.encode()))
        if not path.startswith(CACHEABLE_PREFIXES):
            extra.append((b"cache-control", b"no-store"))
        return self.common + extra

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = self.headers_for(scope["path"])

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                headers.extend(item for item in wanted if item[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


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
