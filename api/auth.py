"""Bearer tokens (JWT), roles, and the audit of every clinician read of patient data.

Roles: ``patient`` (own Patient only), ``clinician`` (granted pathways), ``author`` (a
clinician who may also publish pathways and questionnaires). ``401`` without a valid
token, ``403`` for anything the role does not allow; a refusal never says whether
another patient exists.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import jwt
from fastapi import Depends, HTTPException, Request

from api.deps import SettingsDep
from runtime import caches
from runtime.settings import Settings

Role = Literal["patient", "clinician", "author"]
ROLES: tuple[str, ...] = ("patient", "clinician", "author")


@dataclass(frozen=True)
class Principal:
    """Who is calling: from a verified token."""

    subject: str
    role: Role
    patient_id: str | None = None
    pathways: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_staff(self) -> bool:
        return self.role in ("clinician", "author")

    def may_see_pathway(self, pathway_id: str) -> bool:
        return self.is_staff and ("*" in self.pathways or pathway_id in self.pathways)


def create_token(
    settings: Settings,
    *,
    role: Role,
    subject: str | None = None,
    patient_id: str | None = None,
    pathways: list[str] | None = None,
    hours: int | None = None,
) -> str:
    """A signed token with expiry, audience and issuer."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if role == "patient" and not patient_id:
        raise ValueError("a patient token needs the patient's id")
    now = dt.datetime.now(dt.UTC)
    claims: dict[str, Any] = {
        "sub": subject or (f"patient:{patient_id}" if role == "patient" else f"{role}:dev"),
        "role": role,
        "aud": settings.jwt_audience,
        "iss": settings.jwt_issuer,
        "iat": now,
        "exp": now + dt.timedelta(hours=hours or settings.token_hours),
    }
    if patient_id:
        claims["patient"] = patient_id
    if pathways:
        claims["pathways"] = sorted(set(pathways))
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def decode_token(settings: Settings, token: str) -> Principal:
    """Verify signature, expiry, audience and issuer; raise ``jwt.InvalidTokenError``.

    A token verified before is answered from a small cache until it expires: a device
    posting every few seconds sends the same token each time.
    """
    key = (settings.jwt_secret, settings.jwt_audience, settings.jwt_issuer, token)
    with _verified_lock:
        cached: tuple[float, Principal] | None = _verified.get(key)
    if cached is not None and cached[0] > time.time():
        return cached[1]
    principal, expires = _decode(settings, token)
    with _verified_lock:
        _verified[key] = (expires, principal)
    return principal


# Tokens verified before, with their expiry (the least recently used go first).
_verified = caches.lru("auth.verified", maxsize=10_000)
_verified_lock = threading.Lock()


def _decode(settings: Settings, token: str) -> tuple[Principal, float]:
    claims = jwt.decode(
        token,
        settings.jwt_secret,
        algorithms=["HS256"],
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        options={"require": ["exp", "sub", "aud", "iss"]},
    )
    role = claims.get("role")
    if role not in ROLES:
        raise jwt.InvalidTokenError("unknown role")
    patient = claims.get("patient")
    if role == "patient" and not isinstance(patient, str):
        raise jwt.InvalidTokenError("patient token without patient")
    pathways = claims.get("pathways") or []
    if not isinstance(pathways, list) or not all(isinstance(p, str) for p in pathways):
        raise jwt.InvalidTokenError("bad pathways claim")
    principal = Principal(str(claims["sub"]), role, patient, frozenset(pathways))
    return principal, float(claims["exp"])


def unauthorized(detail: str = "a valid bearer token is required") -> HTTPException:
    return HTTPException(401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def forbidden(detail: str = "not allowed for this token") -> HTTPException:
    return HTTPException(403, detail=detail)


def bearer_principal(request: Request, settings: Settings) -> Principal:
    """The verified caller of ``request``'s bearer token; raises a ``401`` HTTPException."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized()
    try:
        return decode_token(settings, token.strip())
    except jwt.InvalidTokenError:
        raise unauthorized("the token is invalid or has expired") from None


async def current_principal(request: Request, settings: SettingsDep) -> Principal:
    # async: FastAPI runs a plain ``def`` dependency in a worker thread, and the thread hop
    # cost more than the check itself (a header and an HMAC) on every request.
    principal = bearer_principal(request, settings)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def require_staff(principal: CurrentPrincipal) -> Principal:
    if not principal.is_staff:
        raise forbidden()
    return principal


async def require_author(principal: CurrentPrincipal) -> Principal:
    if principal.role != "author":
        raise forbidden("only an author may do this")
    return principal


Staff = Annotated[Principal, Depends(require_staff)]
Author = Annotated[Principal, Depends(require_author)]
