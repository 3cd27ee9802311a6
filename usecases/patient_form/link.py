"""The link a patient without an app answers a form task with: ``/skjema/{token}``.

The token names one patient and one task and expires at the end of the task's period. It
is signed with HMAC-SHA256 under a key DERIVED from the service's secret for this purpose
alone (``JWT_SECRET`` signs API tokens directly), so a form token is never a valid API token
and an API token is never a valid form token. It is compact for an SMS: the ids
``prefix-<32 hex>`` are packed to their 16 bytes, the expiry is 4 bytes, the MAC 16 bytes:
about 80 characters of base64url, one piece, no dots.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import re
import struct
from dataclasses import dataclass

from runtime import clock
from runtime.settings import Settings, get_settings
from store.tasks import FormTask

PURPOSE = b"behovsstyrt-triage/patient-form-link/v1"
VERSION = 1
MAC_BYTES = 16
_PACKED = re.compile(r"([a-z]{1,15})-([0-9a-f]{32})")


@dataclass(frozen=True)
class FormTaskView:
    """What the form needs of a form task (the FHIR Task of the pathway's schedule)."""

    task_id: str
    patient_id: str
    questionnaire: str  # the canonical url
    version: str | None
    period_end: dt.datetime
    status: str  # ready | completed | cancelled
    version_id: int = 1  # above 1 while ready: reopened, its answer taken back
    response_id: str | None = None  # the response that completed it


# A task whose pathway sets no overdue_after has no period end: its link lasts this long.
OPEN_TASK_LINK = dt.timedelta(days=30)


def view_of(task: FormTask) -> FormTaskView:
    """The form's view of a stored form task (``store.tasks.FormTask``)."""
    return FormTaskView(
        task_id=task.id,
        patient_id=task.patient_id,
        questionnaire=task.questionnaire_url,
        version=task.questionnaire_version,
        period_end=task.until or task.due + OPEN_TASK_LINK,
        status=task.status,
        version_id=task.version_id,
        response_id=task.response_id,
    )


@dataclass(frozen=True)
class LinkClaims:
    task_id: str
    patient_id: str
    expires: dt.datetime


class BadLink(Exception):
    """Altered, malformed, or signed for another purpose."""


class ExpiredLink(Exception):
    """Correctly signed, but its task's period has ended."""

    def __init__(self, claims: LinkClaims) -> None:
        super().__init__("the link has expired")
        self.claims = claims


def _key(settings: Settings) -> bytes:
    return hmac.new(settings.jwt_secret.encode(), PURPOSE, hashlib.sha256).digest()


def _pack_id(value: str) -> bytes:
    packed = _PACKED.fullmatch(value)
    if packed:
        prefix = packed.group(1).encode()
        return bytes([len(prefix)]) + prefix + bytes.fromhex(packed.group(2))
    raw = value.encode()
    if not raw or len(raw) > 200:
        raise ValueError("an id for a form link is 1-200 bytes")
    return bytes([0xFF, len(raw)]) + raw


def _unpack_id(data: bytes, at: int) -> tuple[str, int]:
    kind = data[at]
    if kind == 0xFF:
        size = data[at + 1]
        raw = data[at + 2 : at + 2 + size]
        if len(raw) != size:
            raise BadLink("truncated")
        return raw.decode(), at + 2 + size
    if not 1 <= kind <= 15:
        raise BadLink("bad id")
    prefix = data[at + 1 : at + 1 + kind].decode()
    body = data[at + 1 + kind : at + 17 + kind]
    if len(body) != 16:
        raise BadLink("truncated")
    return f"{prefix}-{body.hex()}", at + 17 + kind


def make_token(
    task_id: str, patient_id: str, expires: dt.datetime, settings: Settings | None = None
) -> str:
    """The signed token of one task of one patient, valid until ``expires``."""
    settings = settings or get_settings()
    seconds = int(expires.timestamp())
    payload = struct.pack(">BI", VERSION, seconds) + _pack_id(task_id) + _pack_id(patient_id)
    mac = hmac.new(_key(settings), payload, hashlib.sha256).digest()[:MAC_BYTES]
    return base64.urlsafe_b64encode(payload + mac).rstrip(b"=").decode()


def read_token(token: str, settings: Settings | None = None) -> LinkClaims:
    """The claims of a token signed for this purpose; raise :class:`BadLink` or
    :class:`ExpiredLink` (the signature is checked first: an altered token never says
    "expired")."""
    settings = settings or get_settings()
    if not token or len(token) > 700 or not re.fullmatch(r"[A-Za-z0-9_-]+", token):
        raise BadLink("not a form token")
    try:
        data = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise BadLink("not base64url") from None
    payload, mac = data[:-MAC_BYTES], data[-MAC_BYTES:]
    if len(payload) < 6:
        raise BadLink("too short")
    expected = hmac.new(_key(settings), payload, hashlib.sha256).digest()[:MAC_BYTES]
    if not hmac.compare_digest(mac, expected):
        raise BadLink("signature")
    version, seconds = struct.unpack(">BI", payload[:5])
    if version != VERSION:
        raise BadLink("version")
    try:
        task_id, at = _unpack_id(payload, 5)
        patient_id, at = _unpack_id(payload, at)
    except (IndexError, UnicodeDecodeError):
        raise BadLink("malformed") from None
    if at != len(payload):
        raise BadLink("trailing bytes")
    claims = LinkClaims(task_id, patient_id, dt.datetime.fromtimestamp(seconds, dt.UTC))
    if clock.now() >= claims.expires:
        raise ExpiredLink(claims)
    return claims


def form_link(task: FormTaskView, settings: Settings | None = None) -> str:
    """The path a patient opens to answer ``task``: ``/skjema/{token}`` (the notifier puts
    its public base URL in front)."""
    return f"/skjema/{make_token(task.task_id, task.patient_id, task.period_end, settings)}"
