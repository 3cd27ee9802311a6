"""A result in words: every input value, every rule, whether it fired and why."""

from __future__ import annotations

from typing import Any

from triage.formatting import show_value
from triage.model import Pathway
from triage.result import Result, RuleTrace

__all__ = ["LEVEL_MARKS", "explain", "explain_dict"]

# The level is never told by colour alone: a word and a shape go with it.
LEVEL_MARKS = {"red": "■ RED", "yellow": "▲ YELLOW", "green": "● GREEN"}
_STATUS = {
    "fired": "FIRED",
    "not-fired": "not fired",
    "undecided": "UNDECIDED",
    "error": "ERROR",
}


def _rule_line(trace: RuleTrace, lang: str) -> str:
    values = ", ".join(f"{k}={show_value(v, lang)}" for k, v in trace.values.items())
    why = f"  ({values})" if values else ""
    if trace.detail:
        why += f"  {trace.detail}"
    return f"  {_STATUS[trace.status]:<10} {trace.level.label:<7} {trace.id:<24} {trace.when}{why}"


def explain(pathway: Pathway, result: Result) -> str:
    """A plain-text explanation for clinic staff."""
    lang = pathway.language
    out = [
        f"Pathway {pathway.id} version {pathway.version} ({pathway.source})",
        f"  sha256 {pathway.sha256}",
        "",
        f"Result: {LEVEL_MARKS[result.level.label]}",
    ]
    for reason in result.reasons:
        label = reason.rule or reason.kind
        out.append(f"  - [{reason.level.label}] {label}: {reason.text}")
    if result.undecided:
        # Not reasons (they do not raise the level), but a reader must see what was not
        # judged for want of data, next to what was.
        out.append("Undecided (did not fire):")
        out.extend(
            f"  - [{u.level.label}] {u.rule} lacks {', '.join(u.lacking)}" for u in result.undecided
        )
    if result.action:
        within = f" within {result.action.within}" if result.action.within else ""
        out.append(f"Action: {result.action.consultation.label}{within}")
    if result.patient_message:
        out.append(f"Message to the patient: {result.patient_message}")
    out += ["", "Inputs:"]
    width = max((len(t.name) for t in (*result.inputs, *result.derived)), default=8)
    for trace in result.inputs:
        shown = show_value(trace.value, lang) if trace.value is not None else "(missing)"
        detail = f", {trace.detail}" if trace.detail else ""
        out.append(f"  {trace.name:<{width}} = {shown:<12} from {trace.source}{detail}")
    if result.derived:
        out.append("Derived:")
        for trace in result.derived:
            shown = show_value(trace.value, lang) if trace.value is not None else "(missing)"
            out.append(f"  {trace.name:<{width}} = {shown:<12} = {trace.source}")
    if result.thresholds:
        out.append("Thresholds:")
        for name, value in result.thresholds.items():
            threshold = pathway.thresholds[name]
            bounds = (
                f" (min {threshold.min}, max {threshold.max})" if threshold.tunable else " (fixed)"
            )
            own = "  <- this patient's own value" if name in result.patient_thresholds else ""
            out.append(f"  {name:<{width}} = {show_value(value, lang)}{bounds}{own}")
    out.append("Rules:")
    out.extend(_rule_line(trace, lang) for trace in result.rules)
    return "\n".join(out)


def explain_dict(result: Result) -> dict[str, Any]:
    """The result as JSON, with the rule-by-rule trace added.

    An undecided rule has ``status`` ``"undecided"`` and ``lacking``, the missing inputs
    it needed (an empty list for every other rule).
    """
    data = result.to_dict()
    lacking = {u.rule: list(u.lacking) for u in result.undecided}
    data["rules"] = [
        {
            "id": t.id,
            "level": t.level.label,
            "when": t.when,
            "status": t.status,
            "values": {k: show_value(v, "en") for k, v in t.values.items()},
            "detail": t.detail,
            "lacking": lacking.get(t.id, []),
        }
        for t in result.rules
    ]
    return data
