"""Row factories and tokens for the clinicians' API tests: rows are inserted directly, so
these tests need neither the ingest API nor the worker. Synthetic data only."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

import jwt

from api.auth import Role, create_token
from runtime.settings import get_settings
from store.db import session_scope
from store.models import Patient, TriageResult, WorklistItem, new_id

FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
RANK = {"red": 0, "yellow": 1, "green": 2}
NOW = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)

TEST_PATHWAY = """\
pathway: {id}
title: Testforløp {id}
version: {version}
applies_to:
  questionnaires:
    - http://example.no/fhir/Questionnaire/{id}
thresholds:
  pain_red: {{value: {red}, min: 4, max: 10, doc: Smerte som gir rødt}}
  pain_fixed: 9
inputs:
  pain: {{answer: pain, required: true}}
rules:
  - id: much-pain
    when: pain >= pain_red
    level: red
    say: "Smerte {{pain}}"
    action: {{consultation: phone, within: P2D}}
    patient_message: Vi ringer deg.
otherwise:
  level: green
  patient_message: Takk for svaret.
tests:
  - name: lite smerte
    answers: {{pain: 1}}
    expect: green
  - name: mye smerte
    answers: {{pain: 8}}
    expect: {expect}
"""


def pathway_text(pathway_id: str, version: int = 1, red: int = 7, expect: str = "red") -> str:
    """A small valid pathway file (its tests pass unless ``expect`` says otherwise)."""
    return TEST_PATHWAY.format(id=pathway_id, version=version, red=red, expect=expect)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def headers(
    role: Role = "clinician",
    *,
    pathways: list[str] | None = None,
    patient_id: str | None = None,
    subject: str | None = None,
) -> dict[str, str]:
    if pathways is None and role != "patient":
        pathways = ["*"]
    token = create_token(
        get_settings(), role=role, pathways=pathways, patient_id=patient_id, subject=subject
    )
    return {"Authorization": f"Bearer {token}"}


def forged_headers(*, drop: str = "", algorithm: str = "HS256", **changes: Any) -> dict[str, str]:
    """A clinician token with claims changed (expired, wrong audience), one left out
    (``drop``), another key (``secret=``) or algorithm (unsigned with ``"none"``)."""
    settings = get_settings()
    now = dt.datetime.now(dt.UTC)
    claims: dict[str, Any] = {
        "sub": "clinician:forged",
        "role": "clinician",
        "pathways": ["*"],
        "aud": settings.jwt_audience,
        "iss": settings.jwt_issuer,
        "iat": now,
        "exp": now + dt.timedelta(hours=1),
    }
    secret = changes.pop("secret", settings.jwt_secret)
    claims.update(changes)
    claims.pop(drop, None)
    key = None if algorithm == "none" else secret
    return {"Authorization": f"Bearer {jwt.encode(claims, key, algorithm=algorithm)}"}


def add_patient(name: str = "Testpasient Syntetisk") -> str:
    """A synthetic patient (the identifier is random digits, not a real national id)."""
    patient_id = new_id("p")
    value = "".join(random.choices("0123456789", k=11))
    with session_scope() as session:
        session.add(
            Patient(
                id=patient_id,
                identifier_system=FNR,
                identifier_value=value,
                name=name,
                resource={"resourceType": "Patient", "id": patient_id},
            )
        )
    return patient_id


def add_item(
    patient_id: str,
    pathway: str,
    level: str,
    due: dt.datetime | None = None,
    status: str = "open",
    **fields: Any,
) -> str:
    item_id = fields.pop("id", None) or new_id("w")
    with session_scope() as session:
        session.add(
            WorklistItem(
                id=item_id,
                open_key=f"{patient_id}|{pathway}" if status != "resolved" else None,
                patient_id=patient_id,
                pathway_id=pathway,
                level=level,
                sort_rank=RANK[level],
                status=status,
                reasons=[{"rule": "r1", "level": level, "text": f"grunn {level}"}],
                action={"consultation": "phone", "within": "P7D"},
                due=due,
                sources=[{"resourceType": "QuestionnaireResponse", "id": new_id("qr")}],
                ruleset={"pathway": pathway, "version": 1, "sha256": "ab" * 32},
                **fields,
            )
        )
    return item_id


def add_result(
    patient_id: str,
    pathway: str,
    level: str,
    created: dt.datetime = NOW,
    outbox_id: int | None = None,
    version: int = 1,
    resource_id: str | None = None,
) -> str:
    result_id = new_id("tr")
    with session_scope() as session:
        session.add(
            TriageResult(
                id=result_id,
                task_key=f"{result_id}:{pathway}",
                outbox_id=outbox_id,
                patient_id=patient_id,
                pathway_id=pathway,
                version=version,
                sha256="cd" * 32,
                level=level,
                result={
                    "level": level,
                    "reasons": [{"rule": "r1", "level": level, "text": f"grunn {level}"}],
                    "action": None,
                    "patient_message": f"melding {level}",
                },
                sources=[{"resourceType": "QuestionnaireResponse", "id": new_id("qr")}],
                data_time=created,
                created=created,
                resource_id=resource_id,
                resource_version=1 if resource_id is not None else None,
            )
        )
    return result_id
