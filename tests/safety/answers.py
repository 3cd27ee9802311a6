"""What the service's answers say: a triage result's rules and reason kinds, and the places
and words of an OperationOutcome."""

from __future__ import annotations

from typing import Any


def rules_of(thing: dict[str, Any]) -> set[str]:
    return {r["rule"] for r in thing.get("reasons", []) if r.get("rule")}


def kinds_of(thing: dict[str, Any]) -> set[str]:
    return {r.get("kind", "") for r in thing.get("reasons", [])}


def places(outcome: dict[str, Any]) -> list[str]:
    """Every location an OperationOutcome names."""
    assert outcome.get("resourceType") == "OperationOutcome", outcome
    return [p for issue in outcome["issue"] for p in issue.get("expression", [])]


def words(outcome: dict[str, Any]) -> str:
    return " ".join(issue.get("diagnostics", "") for issue in outcome["issue"])
