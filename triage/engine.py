"""Triage: one patient's answers and readings through one pathway, to a level and reasons.

The engine fails toward a person looking: a missing required answer, an answer of the
wrong kind, a reading in a unit that cannot be converted, a reading dated in the future,
or a rule that errors all make the result at least yellow, with the reason in words.

A missing input is unknown, never false (RULES.md "Missing values"): a rule whose
``when`` comes out unknown does not fire and is listed as undecided with the inputs it
lacked; it does not raise the level (``required: true`` is how a file asks for that).

:func:`evaluate` judges everything sent as of now; :func:`~triage.prepared.prepare` and
:func:`evaluate_at` judge many uploads of one patient, each as of its own time.

A judgement runs in steps (:func:`_judge`): read the inputs (answers via
:mod:`triage.answers`, readings summarized over their windows via :mod:`triage.windows`),
compute the derived values, evaluate the rules (three-valued when a name is missing,
:mod:`triage.kleene`), then build the result (:mod:`triage.verdict`). A patient's own
thresholds are checked in :mod:`triage.thresholds`, device data routed and sorted once in
:mod:`triage.prepared`.
"""

from __future__ import annotations

import datetime as dt
import decimal
import sys
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from rule_engine import errors as re_errors

from triage.answers import read_answer
from triage.formatting import show_value
from triage.kleene import UNKNOWN
from triage.levels import Level
from triage.model import AnswerInput, Pathway, Rule
from triage.prepared import Prepared, future_reason, prepare
from triage.readings import Measurement, Reading
from triage.result import InputTrace, Reason, Result, RuleTrace, Undecided
from triage.thresholds import ThresholdError, check_patient_thresholds
from triage.verdict import REVIEW_MESSAGE, build_result
from triage.windows import summarize

__all__ = [
    "FUTURE_TOLERANCE",
    "REVIEW_MESSAGE",
    "ThresholdError",
    "evaluate",
    "evaluate_at",
]

# Device clocks drift; a reading a few minutes "ahead" is normal, one hours ahead is not.
FUTURE_TOLERANCE = dt.timedelta(minutes=10)

_EVALUATION_ERRORS = (
    re_errors.EngineError,
    TypeError,
    ArithmeticError,
    decimal.DecimalException,
    ValueError,
)
# A value is stored as a JSON number and read back as a float: beyond this it is infinity.
_FLOAT_MAX = Decimal(repr(sys.float_info.max))


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
        as_of=as_of,
        answers=answers or {},
        patient=patient,
        evaluated_at=evaluated_at or dt.datetime.now(dt.UTC),
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
    future = future_reason(prepared, limit, pathway.language)
    return _judge(
        pathway,
        prepared,
        as_of=limit,
        answers=answers or {},
        patient=patient,
        evaluated_at=now,
        extra=(future,) if future else (),
    )


class _Known:
    """What one judgement knows so far; each step in :func:`_judge` adds to it.

    ``values``: every value there is, by name, in engine form (thresholds, inputs,
    derived values); ``system``: the reasons the engine adds itself (missing, error,
    unit, future), each yellow; ``missing``: the inputs and derived names without a
    value; ``behind``: a missing derived name -> the missing inputs behind it (what a
    person must supply). A plain slotted class, as one is made for every judgement.
    """

    __slots__ = ("behind", "missing", "system", "values")

    def __init__(self, values: dict[str, Any], system: list[Reason]) -> None:
        self.values = values
        self.system = system
        self.missing: set[str] = set()
        self.behind: dict[str, tuple[str, ...]] = {}


def _judge(
    pathway: Pathway,
    prepared: Prepared,
    *,
    as_of: dt.datetime,
    answers: Mapping[str, Any],
    patient: dict[str, Decimal],
    evaluated_at: dt.datetime,
    extra: tuple[Reason, ...] = (),
) -> Result:
    """Read the inputs, compute the derived values, evaluate the rules, build the result.

    ``patient`` are the patient's own thresholds (checked); ``extra`` reasons the caller
    found (readings in the future) join those of ``prepared``.
    """
    thresholds = pathway.default_thresholds()
    thresholds.update(patient)
    known = _Known(dict(thresholds), [*prepared.reasons, *extra])
    inputs = _read_inputs(pathway, prepared, as_of, answers, known)
    derived = _derive(pathway, known)
    fired, undecided, rules = _fire(pathway, known)
    return build_result(
        pathway,
        fired=fired,
        undecided=undecided,
        system=known.system,
        values=known.values,
        thresholds=thresholds,
        patient_thresholds=patient,
        inputs=inputs,
        derived=derived,
        rules=rules,
        evaluated_at=evaluated_at,
    )


def _read_inputs(
    pathway: Pathway,
    prepared: Prepared,
    as_of: dt.datetime,
    answers: Mapping[str, Any],
    known: _Known,
) -> list[InputTrace]:
    """Each input's value: an answer as given, a reading summarized over its window
    ending at the newest reading at or before ``as_of``. A missing required input, an
    unreadable answer or a summary too large to hold is a yellow reason."""
    lang = pathway.language
    values, missing, system = known.values, known.missing, known.system
    ends: dict[str, int] = {}  # observation -> end of its readings as of ``as_of``
    traces: list[InputTrace] = []
    for name, spec in pathway.inputs.items():
        if isinstance(spec, AnswerInput):
            value, source, problem = read_answer(spec, answers, pathway.types.get(name), lang)
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
        traces.append(InputTrace(name, value, source, detail))
    return traces


def _derive(pathway: Pathway, known: _Known) -> list[InputTrace]:
    """Each derived value in file order, three-valued when a name it uses is missing.

    Unknown, an error or a number too large to hold leaves it missing (an error or a
    too-large number with a yellow reason)."""
    if not pathway.derived:
        return []
    lang = pathway.language
    values, missing, system, behind = known.values, known.missing, known.system, known.behind
    traces: list[InputTrace] = []
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
        traces.append(InputTrace(name, value, expression.text))
    return traces


def _fire(
    pathway: Pathway, known: _Known
) -> tuple[list[Rule], tuple[Undecided, ...], list[RuleTrace]]:
    """Evaluate every rule's ``when``: (the rules that fired, the undecided ones, traces).

    True fires; false or null does not; unknown (three-valued logic, a name it uses is
    missing) is undecided, with the inputs it lacks; an error or a value that is not
    true/false is a yellow reason."""
    lang = pathway.language
    values, missing, system, behind = known.values, known.missing, known.system, known.behind
    fired: list[Rule] = []
    undecided: list[Undecided] = []
    traces: list[RuleTrace] = []
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
            traces.append(RuleTrace(rule.id, rule.level, when.text, "fired", seen))
        elif outcome is False or outcome is None:
            traces.append(RuleTrace(rule.id, rule.level, when.text, "not-fired", seen))
        elif outcome is UNKNOWN:
            lacking = _lacking(names, missing, behind)
            text = _undecided_text(rule.id, lacking, lang)
            undecided.append(Undecided(rule.id, rule.level, when.text, lacking, text))
            detail = "missing: " + ", ".join(lacking)
            traces.append(RuleTrace(rule.id, rule.level, when.text, "undecided", seen, detail))
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
            traces.append(RuleTrace(rule.id, rule.level, when.text, "error", seen, text))
    return fired, tuple(undecided), traces


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


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, decimal.DivisionByZero | ZeroDivisionError):
        return "division by zero"
    if isinstance(exc, decimal.DecimalException):
        # decimal's own text is a list of signal classes, meaningless to a reader.
        return "a calculation gave no valid number"
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(message)
