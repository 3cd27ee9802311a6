"""Triage: one patient's answers and readings through one pathway, to a level and reasons.

The engine fails toward a person looking: a missing required answer, an answer of the
wrong kind, a reading in a unit that cannot be converted, a reading dated in the future,
or a rule that errors all make the result at least yellow, with the reason in words.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from rule_engine import errors as re_errors

from triage.expressions import to_engine_value, type_word
from triage.formatting import fill, show_value
from triage.levels import Level
from triage.model import Action, AnswerInput, Pathway, Rule
from triage.readings import Measurement, Reading
from triage.result import InputTrace, Reason, Result, RuleTrace
from triage.units import UnitError, convert
from triage.windows import build_series, summarize

__all__ = ["FUTURE_TOLERANCE", "ThresholdError", "check_patient_thresholds", "evaluate"]

# Device clocks drift; a reading a few minutes "ahead" is normal, one hours ahead is not.
FUTURE_TOLERANCE = dt.timedelta(minutes=10)

REVIEW_MESSAGE = {
    "nb": "Takk! Vi har mottatt svarene dine. En behandler ser gjennom dem og tar kontakt "
    "ved behov.",
    "nn": "Takk! Vi har fått svara dine. Ein behandlar ser gjennom dei og tek kontakt ved behov.",
    "en": "Thank you. We have received your answers; a clinician will look at them and "
    "contact you if needed.",
}

_EVALUATION_ERRORS = (
    re_errors.EngineError,
    TypeError,
    ArithmeticError,
    decimal.DecimalException,
    ValueError,
)
_ENGINE_KIND = {Decimal: "FLOAT", bool: "BOOLEAN", str: "STRING", dt.datetime: "DATETIME"}


class ThresholdError(ValueError):
    """Per-patient thresholds that the pathway does not allow; ``problems`` says which."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def check_patient_thresholds(
    pathway: Pathway, values: Mapping[str, Any] | None
) -> dict[str, Decimal]:
    """A patient's own thresholds as exact numbers; ``ThresholdError`` if any is not allowed."""
    out: dict[str, Decimal] = {}
    problems: list[str] = []
    for name, raw in (values or {}).items():
        threshold = pathway.thresholds.get(name)
        if threshold is None:
            problems.append(f"'{name}' is not a threshold of pathway {pathway.id}")
            continue
        if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal):
            problems.append(f"'{name}' must be a number, not {raw!r}")
            continue
        value = to_engine_value(raw)
        if not value.is_finite():
            problems.append(f"'{name}' must be a finite number")
        elif threshold.min is None or threshold.max is None:
            problems.append(f"'{name}' has no min/max in the pathway and cannot be set per patient")
        elif not threshold.min <= value <= threshold.max:
            problems.append(f"'{name}' = {value} is outside {threshold.min}..{threshold.max}")
        else:
            out[name] = value
    if problems:
        raise ThresholdError(problems)
    return out


def evaluate(
    pathway: Pathway,
    *,
    answers: Mapping[str, Any] | None = None,
    readings: Iterable[Reading] = (),
    measurements: Iterable[Measurement] = (),
    thresholds: Mapping[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> Result:
    """Triage one patient's data with ``pathway``.

    ``answers`` maps linkId to a value (a Coding answer given as its code);
    ``readings`` are already routed to input names in the pathway's units, and
    ``measurements`` are routed and converted here. ``thresholds`` are the patient's own
    values (checked; ``ThresholdError`` if not allowed). ``now`` (default: the current
    time) is used to refuse readings dated in the future.
    """
    now = now or dt.datetime.now(dt.UTC)
    lang = pathway.language
    patient = check_patient_thresholds(pathway, thresholds)
    used = pathway.default_thresholds()
    used.update(patient)
    values: dict[str, Any] = dict(used)
    missing: set[str] = set()
    system: list[Reason] = []
    all_readings = _route(pathway, readings, measurements, system)
    limit = now + FUTURE_TOLERANCE
    future = [r for r in all_readings if r.time > limit]
    if future:
        system.append(Reason(Level.YELLOW, _future_text(future, lang), kind="future"))
        all_readings = [r for r in all_readings if r.time <= limit]
    series = build_series(all_readings)

    input_traces: list[InputTrace] = []
    for name, spec in pathway.inputs.items():
        if isinstance(spec, AnswerInput):
            value, source, problem = _answer(spec, answers or {}, pathway.types.get(name))
            if problem:
                system.append(Reason(Level.YELLOW, problem, kind="error"))
            detail = ""
        else:
            summary = summarize(series.get(spec.observation), spec)
            value, source = summary.value, spec.describe()
            detail = f"{summary.count} readings" if spec.form != "newest" else ""
        if value is None:
            missing.add(name)
            if spec.required:
                system.append(
                    Reason(Level.YELLOW, _missing_text(name, source, lang), kind="missing")
                )
        else:
            values[name] = value
        input_traces.append(InputTrace(name, value, source, detail))

    derived_traces: list[InputTrace] = []
    for name, derived in pathway.derived.items():
        value = None
        if not any(n in missing for n in derived.expression.names):
            try:
                value = derived.expression.evaluate(values)
            except _EVALUATION_ERRORS as exc:
                system.append(
                    Reason(
                        Level.YELLOW,
                        f"{name} = {derived.expression.text}: {_error_text(exc)}",
                        kind="error",
                    )
                )
        if value is None:
            missing.add(name)
        else:
            values[name] = value
        derived_traces.append(InputTrace(name, value, derived.expression.text))

    fired: list[Rule] = []
    rule_traces: list[RuleTrace] = []
    for rule in pathway.rules:
        names = rule.when.names
        seen = {n: values.get(n) for n in names}
        absent = [n for n in names if n in missing]
        if absent:
            rule_traces.append(
                RuleTrace(
                    rule.id,
                    rule.level,
                    rule.when.text,
                    "skipped",
                    seen,
                    "missing: " + ", ".join(absent),
                )
            )
            continue
        try:
            outcome = rule.when.evaluate(values)
        except _EVALUATION_ERRORS as exc:
            outcome = exc
        if outcome is True:
            fired.append(rule)
            rule_traces.append(RuleTrace(rule.id, rule.level, rule.when.text, "fired", seen))
        elif outcome is False or outcome is None:
            rule_traces.append(RuleTrace(rule.id, rule.level, rule.when.text, "not-fired", seen))
        else:
            text = (
                _error_text(outcome)
                if isinstance(outcome, Exception)
                else (f"gave {show_value(outcome, 'en')}, not true/false")
            )
            system.append(
                Reason(
                    Level.YELLOW,
                    f"rule {rule.id} could not be evaluated: {text}",
                    rule=rule.id,
                    kind="error",
                )
            )
            rule_traces.append(RuleTrace(rule.id, rule.level, rule.when.text, "error", seen, text))
    return _result(
        pathway,
        fired,
        system,
        used,
        patient,
        values,
        input_traces,
        derived_traces,
        rule_traces,
        now,
    )


def _result(
    pathway: Pathway,
    fired: list[Rule],
    system: list[Reason],
    used: dict[str, Decimal],
    patient: dict[str, Decimal],
    values: dict[str, Any],
    input_traces: list[InputTrace],
    derived_traces: list[InputTrace],
    rule_traces: list[RuleTrace],
    now: dt.datetime,
) -> Result:
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
        thresholds=used,
        patient_thresholds=tuple(patient),
        inputs=tuple(input_traces),
        derived=tuple(derived_traces),
        rules=tuple(rule_traces),
        evaluated_at=now,
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


def _route(
    pathway: Pathway,
    readings: Iterable[Reading],
    measurements: Iterable[Measurement],
    system: list[Reason],
) -> list[Reading]:
    out = []
    for reading in readings:
        if math.isfinite(reading.value):
            out.append(reading)
        else:
            # NaN compares false with everything: it would quietly hide a rule.
            system.append(
                Reason(Level.YELLOW, f"{reading.name}: a reading that is not a number", kind="unit")
            )
    for m in measurements:
        route = pathway.route_for(m.code, m.panel)
        if route is None:
            continue
        try:
            value = convert(m.value, m.unit, route.unit, analyte=route.analyte)
        except UnitError as exc:
            system.append(Reason(Level.YELLOW, f"{route.name}: {exc}", kind="unit"))
            continue
        out.append(Reading(route.name, value, route.unit, m.time))
    return out


def _answer(
    spec: AnswerInput, answers: Mapping[str, Any], expected: Any
) -> tuple[Any, str, str | None]:
    """(value in engine form or None, source, problem text or None)."""
    source = spec.describe()
    raw = answers.get(spec.link_id)
    if raw is None:
        return None, source, None
    if spec.scores is not None:
        code = raw.get("code") if isinstance(raw, dict) else raw
        if isinstance(code, str) and code in spec.scores:
            return spec.scores[code], source, None
        return (
            None,
            source,
            (
                f"the answer {show_value(code, 'en')!s} to {spec.link_id} has no "
                f"score in the pathway (known: {', '.join(spec.scores)})"
            ),
        )
    try:
        value = to_engine_value(raw)
    except TypeError:
        return None, source, f"the answer to {spec.link_id} cannot be read ({type(raw).__name__})"
    if isinstance(value, Decimal) and not value.is_finite():
        # inf/NaN compare oddly (NaN == 3 is false) and cannot be stored as JSON numbers.
        return None, source, f"the answer to {spec.link_id} is {raw!r}, not a finite number"
    want = getattr(expected, "name", "UNDEFINED")
    got = _ENGINE_KIND.get(type(value))
    if want != "UNDEFINED" and got != want:
        return (
            None,
            source,
            (
                f"the answer to {spec.link_id} is {show_value(raw, 'en')}, "
                f"but the pathway expects {type_word(expected)}"
            ),
        )
    return value, source, None


def _missing_text(name: str, source: str, lang: str) -> str:
    if lang in ("nb", "nn"):
        return f"Mangler {name} ({source})"
    return f"Missing {name} ({source})"


def _future_text(future: list[Reading], lang: str) -> str:
    latest = max(r.time for r in future)
    if lang in ("nb", "nn"):
        return (
            f"{len(future)} måling(er) datert fram i tid (seneste {latest.isoformat()}) er "
            f"ikke brukt; sjekk klokken på apparatet"
        )
    return (
        f"{len(future)} reading(s) dated in the future (latest {latest.isoformat()}) were "
        f"not used; check the device's clock"
    )


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, decimal.DivisionByZero | ZeroDivisionError):
        return "division by zero"
    if isinstance(exc, decimal.DecimalException):
        # decimal's own text is a list of signal classes, meaningless to a reader.
        return "a calculation gave no valid number"
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(message)
