"""From what was judged to the result: the level, the action, the reasons and the message.

The level is the highest of the fired rules, lifted to at least yellow by any reason the
engine added itself (a missing required input, an error, a unit, a reading in the
future); with no rule fired it is the pathway's ``otherwise``. The patient's message is
the most urgent fired rule's, or a "we will look at it" message when the engine's own
reasons lift the level above every rule that fired.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from triage.formatting import fill
from triage.levels import Level
from triage.model import Action, Pathway, Rule
from triage.result import InputTrace, Reason, Result, RuleTrace, Undecided

__all__ = ["REVIEW_MESSAGE", "build_result"]

REVIEW_MESSAGE = {
    "nb": "Takk! Vi har mottatt svarene dine. En behandler ser gjennom dem og tar kontakt "
    "ved behov.",
    "nn": "Takk! Vi har fått svara dine. Ein behandlar ser gjennom dei og tek kontakt ved behov.",
    "en": "Thank you. We have received your answers; a clinician will look at them and "
    "contact you if needed.",
}


def build_result(
    pathway: Pathway,
    *,
    fired: list[Rule],
    undecided: tuple[Undecided, ...],
    system: list[Reason],
    values: Mapping[str, Any],
    thresholds: dict[str, Decimal],
    patient_thresholds: dict[str, Decimal],
    inputs: list[InputTrace],
    derived: list[InputTrace],
    rules: list[RuleTrace],
    evaluated_at: dt.datetime,
) -> Result:
    """The :class:`Result` of one judgement.

    ``fired`` are the rules that fired, in file order; ``system`` the reasons the engine
    added itself (each yellow); ``values`` every known value by name, to fill in the
    messages; ``thresholds`` those used (the patient's own in ``patient_thresholds``);
    ``inputs``, ``derived`` and ``rules`` the traces.
    """
    lang = pathway.language
    otherwise = pathway.otherwise
    reasons = [
        Reason(rule.level, fill(rule.say, values, lang) if rule.say else rule.id, rule.id)
        for rule in fired
    ]
    reasons.extend(system)
    reasons.sort(key=lambda r: -r.level)
    if fired:
        level = max(rule.level for rule in fired)
        if system:
            level = max(level, Level.YELLOW)
        top = [rule for rule in fired if rule.level == level]
        action = _most_urgent([rule.action for rule in top if rule.action is not None])
    else:
        level = max(otherwise.level, Level.YELLOW) if system else otherwise.level
        action = otherwise.action if level == otherwise.level else None
    # A fired rule's message was written for that rule's level; when a missing input or
    # an error lifts the result above every fired rule (a green "no need for a check"
    # rule plus a missing required answer), the patient gets the review message instead.
    above_fired = not fired or level > max(rule.level for rule in fired)
    message = None if above_fired and system else _patient_message(fired, lang, values)
    if message is None:
        if level > otherwise.level:
            message = REVIEW_MESSAGE.get(lang, REVIEW_MESSAGE["en"])
        elif otherwise.patient_message:
            message = fill(otherwise.patient_message, values, lang)
    return Result(
        pathway=pathway.id,
        version=pathway.version,
        sha256=pathway.sha256,
        level=level,
        reasons=tuple(reasons),
        action=action,
        patient_message=message,
        fired=tuple(rule.id for rule in fired),
        thresholds=thresholds,
        patient_thresholds=tuple(patient_thresholds),
        inputs=tuple(inputs),
        derived=tuple(derived),
        rules=tuple(rules),
        evaluated_at=evaluated_at,
        undecided=undecided,
    )


def _most_urgent(actions: list[Action]) -> Action | None:
    return min(actions, key=Action.urgency_key) if actions else None


def _patient_message(fired: list[Rule], lang: str, values: Mapping[str, Any]) -> str | None:
    with_message = [rule for rule in fired if rule.patient_message]
    if not with_message:
        return None
    best = min(
        with_message,
        key=lambda r: (
            -r.level,
            r.action.urgency_key() if r.action else (float("inf"), 0),
            r.order,
        ),
    )
    return fill(best.patient_message or "", values, lang)
