"""The one security-header policy: which headers every response carries, decided from its
path alone, for the JSON API, FHIR, the pages under /app and their static files alike.

Every response gets nosniff, a frame and referrer policy and a permissions policy; a CSP
(the pages' strict one under /app and /skjema, a deny-all one elsewhere, none on Swagger UI, which
loads its script from a CDN with inline code); ``no-store`` wherever patient data may be;
HSTS when configured. A header the route set itself is kept.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

WEB_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
WEB_PREFIXES = ("/app", "/skjema/")  # the clinicians' pages, the patients' form
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

Headers = list[tuple[bytes, bytes]]


class Policy:
    """The security headers of a response to each path (HSTS on or off)."""

    def __init__(self, hsts: bool = False) -> None:
        common = dict(COMMON_HEADERS)
        if hsts:
            common["Strict-Transport-Security"] = HSTS
        self.common: Headers = [(k.lower().encode(), v.encode()) for k, v in common.items()]

    def headers_for(self, path: str) -> Headers:
        extra: Headers = []
        if path.startswith(WEB_PREFIXES):
            extra.append((b"content-security-policy", WEB_CSP.encode()))
        elif path not in NO_CSP_PATHS:
            extra.append((b"content-security-policy", API_CSP.encode()))
        if not path.startswith(CACHEABLE_PREFIXES):
            extra.append((b"cache-control", b"no-store"))
        return self.common + extra


class SecurityHeaders:
    """Add the :class:`Policy`'s headers to every HTTP response that lacks them."""

    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self.policy = Policy(hsts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = self.policy.headers_for(scope["path"])

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                headers.extend(item for item in wanted if item[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
