"""``POST /fhir`` with a Bundle: ``transaction`` (all or nothing, one database transaction,
entries may reference a Patient entry by ``urn:uuid``) or ``batch`` (each entry on its own,
each with its own status). Every entry is a POST of a Patient, Questionnaire,
QuestionnaireResponse or Observation; problems are located as ``Bundle.entry[3].resource...``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from fhir_adapters import FhirInputError, OutcomeIssue
from store.db import session_scope
from usecases.errors import Refused, Why, why_of
from usecases.ingest.checks import Context
from usecases.ingest.prepare import INGESTED, Caller, Entry, prepare
from usecases.ingest.upload import dispatch_after_commit, store_entries

__all__ = ["BundleOutcome", "ingest_bundle"]

_MAX_ISSUES = 50


@dataclasses.dataclass(frozen=True)
class BundleOutcome:
    """What a Bundle did, entry by entry, in the order sent: ``transaction`` or ``batch``,
    and for each entry the stored :class:`Entry` or the :class:`Refused` (located at
    ``Bundle.entry[i]``)."""

    kind: str
    results: list[Entry | Refused]


def ingest_bundle(
    raw: dict[str, Any],
    caller: Caller,
    request_id: str | None = None,
    hand_over: Callable[[list[int]], object] | None = None,
) -> BundleOutcome:
    """Store a transaction (all or nothing, one transaction) or batch Bundle.

    The committed outbox rows go to the broker (the worker judges them), or to
    ``hand_over`` when given: the demo history judges them at once, in its own process."""
    if raw.get("resourceType") != "Bundle":
        raise Refused.one(Why.INVALID, "invalid", "POST /fhir takes a Bundle", "resourceType")
    kind = raw.get("type")
    if kind not in ("transaction", "batch"):
        text = "the Bundle type must be transaction or batch"
        raise Refused.one(Why.INVALID, "value", text, "Bundle.type")
    items = raw.get("entry") or []
    if not isinstance(items, list):
        raise Refused.one(Why.INVALID, "structure", "entry must be a JSON array", "Bundle.entry")
    urls = frozenset(
        str(item.get("fullUrl"))
        for item in items
        if kind == "transaction"
        and isinstance(item, dict)
        and str(item.get("fullUrl", "")).startswith("urn:uuid:")
        and isinstance(item.get("resource"), dict)
        and item["resource"].get("resourceType") == "Patient"
    )
    with session_scope() as session:
        ctx = Context(session)
        results = [_prepare_item(ctx, i, item, caller, urls) for i, item in enumerate(items)]
        if kind == "transaction":
            outbox_ids = _transaction(session, results, request_id)
        else:
            outbox_ids = store_entries(session, _stored(results), request_id)
    if hand_over is not None:
        hand_over(outbox_ids)
    else:
        dispatch_after_commit(outbox_ids, request_id)
    return BundleOutcome(kind, [_relocated_refusal(r, i) for i, r in enumerate(results)])


def _prepare_item(
    ctx: Context, index: int, item: Any, caller: Caller, urls: frozenset[str]
) -> Entry | Refused:
    where = f"Bundle.entry[{index}]"
    if not isinstance(item, dict) or not isinstance(item.get("resource"), dict):
        return Refused.one(
            Why.INVALID, "required", "each entry needs a resource", f"{where}.resource"
        )
    resource = item["resource"]
    rtype = resource.get("resourceType")
    given = item.get("request")
    request: dict[str, Any] = given if isinstance(given, dict) else {}
    if request.get("method") != "POST":
        return Refused.one(Why.INVALID, "not-supported", "only POST entries are accepted", where)
    if rtype not in INGESTED or str(request.get("url", "")).split("?")[0] != rtype:
        text = f"request.url must name the resource type (one of {', '.join(INGESTED)})"
        return Refused.one(Why.INVALID, "value", text, f"{where}.request.url")
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
    return Refused(issues, why_of(exc))


def _stored(results: list[Entry | Refused]) -> list[Entry]:
    return [r for r in results if isinstance(r, Entry)]


def _transaction(
    session: Session, results: list[Entry | Refused], request_id: str | None
) -> list[int]:
    refused = [r for r in results if isinstance(r, Refused)]
    if refused:
        why = Why.FORBIDDEN if any(r.why is Why.FORBIDDEN for r in refused) else Why.INVALID
        raise Refused([i for r in refused for i in r.issues][:_MAX_ISSUES], why)
    entries = _stored(results)
    outbox_ids = store_entries(session, entries, request_id)
    conflicts = [(i, e.refusal) for i, e in enumerate(entries) if e.refusal is not None]
    if conflicts:  # raised: the whole transaction is rolled back
        issues = [_relocated(r, i, entries[i].rtype).issues[0] for i, r in conflicts]
        raise Refused(issues[:_MAX_ISSUES], Why.CONFLICT)
    return outbox_ids


def _relocated_refusal(result: Entry | Refused, index: int) -> Entry | Refused:
    """A batch entry that met a conflict while stored is reported as refused, in place."""
    if isinstance(result, Entry) and result.refusal is not None:
        return _relocated(result.refusal, index, result.rtype)
    return result
