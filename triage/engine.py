"""Triage: one patient's answers and readings through one pathway, to a level and reasons.

The engine fails toward a person looking: a missing required answer, an answer of the
wrong kind, a reading in a unit that cannot be converted, a reading dated in the future,
or a rule that errors all make the result at least yellow, with the reason in words.

A missing input is unknown, never false (RULES.md "Missing values"): a rule whose
``when`` comes out unknown does not fire and is listed as undecided with the inputs it
lacked; it does not raise the level (``required: true`` is how a file asks for that).

:func:`evaluate` judges everything sent as of now; :func:`prepare` and
:func:`evaluate_at` judge many uploads of one patient, each as of its own time.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rule_engine import errors as re_errors

from triage.expressions import UNKNOWN, to_engine_value, type_word
from triage.formatting import fill, show_value
from triage.levels import Level
from triage.model import Action, AnswerInput, Pathway, Rule
from triage.readings import Measurement, Reading
from triage.result import InputTrace, Reason, Result, RuleTrace, Undecided
from triage.units import UnitError, convert
from triage.windows import Series, build_series, summarize

__all__ = [
    "FUTURE_TOLERANCE",
    "Prepared",
    "ThresholdError",
    "check_patient_thresholds",
    "evaluate",
    "evaluate_at",
    "prepare",
]

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
# A value is stored as a JSON number and read back as a float: beyond this it is infinity.
_FLOAT_MAX = Decimal(repr(sys.float_info.max))


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


@dataclass(frozen=True)
class Prepared:
    """A patient's readings for one pathway: routed, converted and sorted once.

    Build it with :func:`prepare`, then judge as of any number of times with
    :func:`evaluate_at`. ``series`` maps each input observation name to its readings
    sorted by time; ``reasons`` are the problems found while routing (a unit that cannot
    be converted, a value that is not a number), which belong to every judgement.
    """

    series: dict[str, Series]
    reasons: tuple[Reason, ...]


def prepare(
    pathway: Pathway,
    *,
    readings: Iterable[Reading] = (),
    measurements: Iterable[Measurement] = (),
) -> Prepared:
    """Route, convert and sort a patient's device data for ``pathway``.

    ``readings`` are already routed to input names in the pathway's units;
    ``measurements`` are routed here by any of their codings (measurements this pathway
    does not read are left out) and converted to the unit the pathway declares. Never
    raises for bad data: a unit that cannot be converted or a value that is not a
    number becomes a yellow reason in :attr:`Prepared.reasons`.
    """
    system: list[Reason] = []
    routed = _route(pathway, readings, measurements, system)
    return Prepared(build_series(routed), tuple(system))


def evaluate_at(
    pathway: Pathway,
    prepared: Prepared,
    *,
    as_of: dt.datetime,
    answers: Mapping[str, Any] | None = None,
    thresholds: Mapping[str, Any] | None = None,
    evaluated_at: dt.datetime | None = None,
) -> Result:
    """Judge the data as of ``as_of`` (RULES.md, "When"): one upload at its own time.

    Only readings at or before ``as_of`` (timezone-aware) are seen, and every window
    ends at the newest of them; nothing is flagged as "in the future", since the cut is
    the point. ``answers`` maps linkId to a value (a Coding answer given as its code; an
    item answered more than once as a tuple): the caller picks the response that goes
    with ``as_of``. ``thresholds`` are the patient's own values (``ThresholdError`` if
    not allowed). ``evaluated_at`` (default: now) is recorded in the result.

    Raises:
        ThresholdError: a patient threshold the pathway does not allow.
        ValueError: ``as_of`` has no time zone.
    """
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError(f"as_of {as_of.isoformat()} has no time zone")
    patient = check_patient_thresholds(pathway, thresholds)
    return _judge(
        pathway,
        prepared,
        as_of,
        answers or {},
        patient,
        evaluated_at or dt.datetime.now(dt.UTC),
        (),
    )


def evaluate(
    pathway: Pathway,
    *,
    answers: Mapping[str, Any] | None = None,
    readings: Iterable[Reading] = (),
    measurements: Iterable[Measurement] = (),
    thresholds: Mapping[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> Result:
    """Triage one patient's data with ``pathway``, as of ``now``.

    ``answers`` maps linkId to a value (a Coding answer given as its code);
    ``readings`` are already routed to input names in the pathway's units, and
    ``measurements`` are routed and converted here. ``thresholds`` are the patient's own
    values (checked; ``ThresholdError`` if not allowed). ``now`` (default: the current
    time) is used to refuse readings dated in the future: those more than
    :data:`FUTURE_TOLERANCE` after it are not used, and the result is at least yellow.
    This is :func:`prepare` and :func:`evaluate_at` as of ``now`` plus that tolerance.
    """
    now = now or dt.datetime.now(dt.UTC)
    patient = check_patient_thresholds(pathway, thresholds)
    prepared = prepare(pathway, readings=readings, measurements=measurements)
    limit = now + FUTURE_TOLERANCE
    future = _future_reason(prepared, limit, pathway.language)
    return _judge(
        pathway, prepared, limit, answers or {}, patient, now, (future,) if future else ()
    )


def _judge(
    pathway: Pathway,
    prepared: Prepared,
    as_of: dt.datetime,
    answers: Mapping[str, Any],
    patient: dict[str, Decimal],
    evaluated_at: dt.datetime,
    extra: tuple[Reason, ...],
) -> Result:
    lang = pathway.language
    used = pathway.default_thresholds()
    used.update(patient)
    values: dict[str, Any] = dict(used)
    missing: set[str] = set()
    # A missing derived name -> the missing inputs behind it (what a person must supply).
    behind: dict[str, tuple[str, ...]] = {}
    system: list[Reason] = [*prepared.reasons, *extra]
    ends: dict[str, int] = {}

    input_traces: list[InputTrace] = []
    for name, spec in pathway.inputs.items():
        if isinstance(spec, AnswerInput):
            value, source, problem = _answer(spec, answers, pathway.types.get(name), lang)
            if problem:
                system.append(Reason(Level.YELLOW, problem, kind="error"))
            detail = ""
        else:
            series = prepared.series.get(spec.observation)
            end = 0
            if series is not None:
                end = ends.get(spec.observation, -1)
                if end < 0:
                    end = ends[spec.observation] = series.end_at(as_of)
            summary = summarize(series, spec, end)
            value, source = summary.value, spec.describe()
            detail = f"{summary.count} readings" if spec.form != "newest" else ""
            if summary.overflow:
                system.append(
                    Reason(Level.YELLOW, _too_large_text(name, source, lang), kind="error")
                )
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
        expression = derived.expression
        value = None
        try:
            if missing and not missing.isdisjoint(expression.names):
                value = expression.evaluate_kleene(values, missing)
            else:
                value = expression.evaluate(values)
        except _EVALUATION_ERRORS as exc:
            system.append(
                Reason(
                    Level.YELLOW, f"{name} = {expression.text}: {_error_text(exc)}", kind="error"
                )
            )
        if value is UNKNOWN:
            value = None
            behind[name] = _lacking(expression.names, missing, behind)
        elif isinstance(value, Decimal) and not _fits(value):
            system.append(
                Reason(Level.YELLOW, _too_large_text(name, expression.text, lang), kind="error")
            )
            value = None
        if value is None:
            missing.add(name)
        else:
            values[name] = value
        derived_traces.append(InputTrace(name, value, expression.text))

    fired: list[Rule] = []
    undecided: list[Undecided] = []
    rule_traces: list[RuleTrace] = []
    for rule in pathway.rules:
        when = rule.when
        names = when.names
        seen = {n: values.get(n) for n in names}
        outcome: Any
        try:
            if missing and not missing.isdisjoint(names):
                outcome = when.evaluate_kleene(values, missing)
            else:
                outcome = when.evaluate(values)
        except _EVALUATION_ERRORS as exc:
            outcome = exc
        if outcome is True:
            fired.append(rule)
            rule_traces.append(RuleTrace(rule.id, rule.level, when.text, "fired", seen))
        elif outcome is False or outcome is None:
            rule_traces.append(RuleTrace(rule.id, rule.level, when.text, "not-fired", seen))
        elif outcome is UNKNOWN:
            lacking = _lacking(names, missing, behind)
            text = _undecided_text(rule.id, lacking, lang)
            undecided.append(Undecided(rule.id, rule.level, when.text, lacking, text))
            detail = "missing: " + ", ".join(lacking)
            rule_traces.append(RuleTrace(rule.id, rule.level, when.text, "undecided", seen, detail))
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
            rule_traces.append(RuleTrace(rule.id, rule.level, when.text, "error", seen, text))
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
        evaluated_at,
        tuple(undecided),
    )


def _lacking(
    names: tuple[str, ...], missing: set[str], behind: Mapping[str, tuple[str, ...]]
) -> tuple[str, ...]:
    """The missing inputs ``names`` needs, in order of first use, derived names expanded."""
    out: list[str] = []
    for name in names:
        if name in missing:
            # A derived value missing for an error, not for a missing input, is its own
            # gap: there is no input behind it to ask for.
            for gap in behind.get(name) or (name,):
                if gap not in out:
                    out.append(gap)
    return tuple(out)


def _fits(value: Decimal) -> bool:
    """A finite number that a float (and so a JSON reader) can hold."""
    return value.is_finite() and abs(value) <= _FLOAT_MAX


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
    undecided: tuple[Undecided, ...],
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
        route = pathway.route_of(m)
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
    spec: AnswerInput, answers: Mapping[str, Any], expected: Any, lang: str
) -> tuple[Any, str, str | None]:
    """(value in engine form or None, source, problem text or None)."""
    source = spec.describe()
    raw = answers.get(spec.link_id)
    if isinstance(raw, tuple | list):
        # An item the Questionnaire lets repeat; the adapter hands its answers as a tuple.
        if len(raw) > 1:
            return _repeated(spec, tuple(raw), expected, lang)
        raw = raw[0] if raw else None
    if raw is None:
        return None, source, None
    if spec.scores is not None:
        code = raw.get("code") if isinstance(raw, dict) else raw
        if isinstance(code, str) and code in spec.scores:
            return spec.scores[code], source, None
        return None, source, _no_score_text(spec, code)
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
        return None, source, _wrong_kind_text(spec, raw, expected)
    return value, source, None


def _repeated(
    spec: AnswerInput, raws: tuple[Any, ...], expected: Any, lang: str
) -> tuple[Any, str, str | None]:
    """Several answers to one item: a score or a yes/no can take them all, nothing else can."""
    source = spec.describe()
    if spec.scores is not None:
        scores: list[Decimal] = []
        for raw in raws:
            code = raw.get("code") if isinstance(raw, dict) else raw
            if not (isinstance(code, str) and code in spec.scores):
                return None, source, _no_score_text(spec, code)
            scores.append(spec.scores[code])
        # The worst symptom ticked is the one that matters for triage.
        return max(scores), source, None
    if getattr(expected, "name", "") == "BOOLEAN":
        for raw in raws:
            if not isinstance(raw, bool):
                return None, source, _wrong_kind_text(spec, raw, expected)
        return any(raws), source, None
    return None, source, _repeated_text(spec.link_id, len(raws), lang)


def _no_score_text(spec: AnswerInput, code: Any) -> str:
    known = ", ".join(spec.scores or {})
    return (
        f"the answer {show_value(code, 'en')!s} to {spec.link_id} has no "
        f"score in the pathway (known: {known})"
    )


def _wrong_kind_text(spec: AnswerInput, raw: Any, expected: Any) -> str:
    return (
        f"the answer to {spec.link_id} is {show_value(raw, 'en')}, "
        f"but the pathway expects {type_word(expected)}"
    )


def _repeated_text(link_id: str, times: int, lang: str) -> str:
    if lang == "nn":
        return f"Spørsmålet {link_id} er svara {times} gonger; ein behandlar må lese skjemaet"
    if lang == "nb":
        return f"Spørsmålet {link_id} er besvart {times} ganger; en behandler må lese skjemaet"
    return f"The item {link_id} was answered {times} times; a person must read the form"


def _undecided_text(rule: str, lacking: tuple[str, ...], lang: str) -> str:
    names = ", ".join(lacking)
    if lang == "nn":
        return f"Ikkje avgjort: {rule} manglar {names}"
    if lang == "nb":
        return f"Ikke avgjort: {rule} mangler {names}"
    return f"Undecided: {rule} lacks {names}"


def _too_large_text(name: str, source: str, lang: str) -> str:
    if lang == "nn":
        return f"{name} ({source}) kan ikkje reknast ut: verdiane er for store"
    if lang == "nb":
        return f"{name} ({source}) kan ikke beregnes: verdiene er for store"
    return f"{name} ({source}) cannot be computed: the values are too large"


def _missing_text(name: str, source: str, lang: str) -> str:
    if lang in ("nb", "nn"):
        return f"Mangler {name} ({source})"
    return f"Missing {name} ({source})"


def _future_reason(prepared: Prepared, limit: dt.datetime, lang: str) -> Reason | None:
    """The yellow reason for readings dated after ``limit``, or ``None`` if there are none."""
    count = 0
    latest: dt.datetime | None = None
    for series in prepared.series.values():
        ahead = len(series.times) - series.end_at(limit)
        if ahead:
            count += ahead
            latest = series.times[-1] if latest is None else max(latest, series.times[-1])
    if latest is None:
        return None
    return Reason(Level.YELLOW, _future_text(count, latest, lang), kind="future")


def _future_text(count: int, latest: dt.datetime, lang: str) -> str:
    if lang in ("nb", "nn"):
        return (
            f"{count} måling(er) datert fram i tid (seneste {latest.isoformat()}) er "
            f"ikke brukt; sjekk klokken på apparatet"
        )
    return (
        f"{count} reading(s) dated in the future (latest {latest.isoformat()}) were "
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
