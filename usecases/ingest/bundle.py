"""``POST /fhir`` with a Bundle: ``transaction`` (all or nothing, one database transaction,
entries may reference a Patient entry by ``urn:uuid``) or ``batch`` (each entry on its own,
each with its own status). Every entry is a POST of a Patient, Questionnaire,
QuestionnaireResponse or Observation; problems are located as ``Bundle.entry[3].resource...``.
"""

from __future__ import annotations

import dataclasses
import http
from typing import Any

from sqlmodel import Session

from fhir_adapters import FhirInputError, OutcomeIssue, operation_outcome
from store.models import utcnow
from usecases.ingest.checks import Context
from usecases.ingest.prepare import INGESTED, Caller, Entry, Refused, prepare
from usecases.ingest.upload import dispatch_after_commit, store_entries

__all__ = ["ingest_bundle"]

_MAX_ISSUES = 50


def ingest_bundle(
    session: Session, raw: dict[str, Any], caller: Caller, request_id: str | None = None
) -> dict[str, Any]:
    """Store a transaction or batch Bundle; return the response Bundle."""
    if raw.get("resourceType") != "Bundle":
        raise Refused.one(400, "invalid", "POST /fhir takes a Bundle", "resourceType")
    kind = raw.get("type")
    if kind not in ("transaction", "batch"):
        text = "the Bundle type must be transaction or batch"
        raise Refused.one(400, "value", text, "Bundle.type")
    items = raw.get("entry") or []
    if not isinstance(items, list):
        raise Refused.one(400, "structure", "entry must be a JSON array", "Bundle.entry")
    urls = frozenset(
        str(item.get("fullUrl"))
        for item in items
        if kind == "transaction"
        and isinstance(item, dict)
        and str(item.get("fullUrl", "")).startswith("urn:uuid:")
        and isinstance(item.get("resource"), dict)
        and item["resource"].get("resourceType") == "Patient"
    )
    ctx = Context(session)
    results = [_prepare_item(ctx, i, item, caller, urls) for i, item in enumerate(items)]
    if kind == "transaction":
        return _transaction(session, results, request_id)
    return _batch(session, results, request_id)


def _prepare_item(
    ctx: Context, index: int, item: Any, caller: Caller, urls: frozenset[str]
) -> Entry | Refused:
    where = f"Bundle.entry[{index}]"
    if not isinstance(item, dict) or not isinstance(item.get("resource"), dict):
        return Refused.one(400, "required", "each entry needs a resource", f"{where}.resource")
    resource = item["resource"]
    rtype = resource.get("resourceType")
    given = item.get("request")
    request: dict[str, Any] = given if isinstance(given, dict) else {}
    if request.get("method") != "POST":
        return Refused.one(400, "not-supported", "only POST entries are accepted", where)
    if rtype not in INGESTED or str(request.get("url", "")).split("?")[0] != rtype:
        text = f"request.url must name the resource type (one of {', '.join(INGESTED)})"
        return Refused.one(400, "value", text, f"{where}.request.url")
    try:
        entry = prepare(ctx, resource, rtype, caller, request.get("ifNoneExist"), urls)
    except FhirInputError as exc:
        return _relocated(exc, index, str(rtype))
    entry.full_url = item.get("fullUrl")
    return entry


def _relocated(exc: FhirInputError, index: int, rtype: str) -> Refused:
    base = f"Bundle.entry[{index}]"
    issues: list[OutcomeIssue] = []
    for issue in exc.issues:
        loc = issue.location
        if loc == rtype or loc.startswith((rtype + ".", rtype + "[")):
            loc = f"{base}.resource{loc[len(rtype) :]}"
        elif loc and not loc.startswith("Bundle."):
            loc = f"{base}.resource.{loc}"
        elif not loc:
            loc = base
        issues.append(dataclasses.replace(issue, location=loc))
    return Refused(issues, getattr(exc, "status", 400))


def _transaction(
    session: Session, results: list[Entry | Refused], request_id: str | None
) -> dict[str, Any]:
    refused = [r for r in results if isinstance(r, Refused)]
    if refused:
        status = 403 if any(r.status == 403 for r in refused) else 400
        raise Refused([i for r in refused for i in r.issues][:_MAX_ISSUES], status)
    entries = [r for r in results if isinstance(r, Entry)]
    outbox_ids = store_entries(session, entries, request_id)
    conflicts = [(i, e.refusal) for i, e in enumerate(entries) if e.refusal is not None]
    if conflicts:
        session.rollback()
        issues = [_relocated(r, i, entries[i].rtype).issues[0] for i, r in conflicts]
        raise Refused(issues[:_MAX_ISSUES], 409)
    session.commit()
    dispatch_after_commit(outbox_ids, request_id)
    return _response("transaction-response", results)


def _batch(
    session: Session, results: list[Entry | Refused], request_id: str | None
) -> dict[str, Any]:
    entries = [r for r in results if isinstance(r, Entry)]
    outbox_ids = store_entries(session, entries, request_id)
    session.commit()
    dispatch_after_commit(outbox_ids, request_id)
    return _response("batch-response", results)


def _response(kind: str, results: list[Entry | Refused]) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    for index, result in enumerate(results):
        if isinstance(result, Entry) and result.refusal is not None:
            result = _relocated(result.refusal, index, result.rtype)
        if isinstance(result, Refused):
            status = f"{result.status} {http.HTTPStatus(result.status).phrase}"
            outcome = operation_outcome(result.issues)
            out.append({"response": {"status": status, "outcome": outcome}})
            continue
        meta = result.body.get("meta") or {}
        version = str(meta.get("versionId") or "1")
        out.append(
            {
                "fullUrl": f"{result.rtype}/{result.id}",
                "response": {
                    "status": "201 Created" if result.created else "200 OK",
                    "location": f"{result.rtype}/{result.id}/_history/{version}",
                    "etag": f'W/"{version}"',
                    "lastModified": meta.get("lastUpdated", utcnow().isoformat()),
                },
            }
        )
    return {"resourceType": "Bundle", "type": kind, "timestamp": utcnow().isoformat(), "entry": out}
