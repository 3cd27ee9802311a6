"""The notification channel: one signed JSON POST per event to ``NOTIFY_URL``.

The receiver checks ``X-Signature: sha256=<hex>``, the HMAC-SHA256 of the raw body with
``NOTIFY_SECRET``, and may drop a repeat by ``Idempotency-Key`` (the same on every attempt
of one event). A 2xx answer is delivered; anything else raises :class:`ChannelError`,
whose text is the HTTP status or the error's type, never the receiver's body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx

__all__ = ["ChannelError", "body_of", "post", "signature"]

TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class ChannelError(Exception):
    """The channel did not take the event; ``str()`` is safe to store and log."""


def body_of(event: dict[str, Any]) -> bytes:
    """The raw body that is signed and sent: compact JSON, keys in a fixed order."""
    return json.dumps(event, separators=(",", ":"), sort_keys=True).encode("utf-8")


def signature(body: bytes, secret: str) -> str:
    """``sha256=<hex HMAC-SHA256 of body>``, the ``X-Signature`` header's value."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def post(url: str, body: bytes, secret: str, idempotency_key: str) -> None:
    """POST ``body`` to ``url`` signed with ``secret``; raise :class:`ChannelError` unless 2xx."""
    headers = {
        "Content-Type": "application/json",
        "X-Signature": signature(body, secret),
        "Idempotency-Key": idempotency_key,
    }
    try:
        answer = httpx.post(url, content=body, headers=headers, timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        raise ChannelError(type(exc).__name__) from None
    if not 200 <= answer.status_code < 300:
        raise ChannelError(f"HTTP {answer.status_code}")
