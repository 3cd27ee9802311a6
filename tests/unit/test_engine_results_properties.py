"""Properties of every result, over generated pathways and answers: the level is the worst
fired level and at least yellow with a system reason, and the same input gives the same
result."""

from __future__ import annotations

import json

from helpers import NOW, make_pathway, system_reasons
from hypothesis import given, settings
from hypothesis import strategies as st

import triage
from triage import Level

LEVELS = [Level.GREEN, Level.YELLOW, Level.RED]

# One answer per rule: a number (fires at >= 5), missing, or text (an answer of the wrong kind).
answer_values = st.one_of(st.integers(min_value=0, max_value=10), st.none(), st.just("mye"))


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, list[Level], list[bool], dict[str, object], Level]:
    n = draw(st.integers(min_value=1, max_value=6))
    levels = draw(st.lists(st.sampled_from(LEVELS), min_size=n, max_size=n))
    required = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    answers = {f"q{i}": draw(answer_values) for i in range(n)}
    otherwise = draw(st.sampled_from(LEVELS))
    inputs = "\n".join(
        f"  a{i}: {{answer: q{i}, type: number, required: {str(required[i]).lower()}}}"
        for i in range(n)
    )
    rules = "\n".join(
        f"  - {{id: r{i}, when: a{i} >= 5, level: {levels[i].label}, say: 'r{i} {{a{i}}}'}}"
        for i in range(n)
    )
    body = f"inputs:\n{inputs}\nrules:\n{rules}\notherwise: {{level: {otherwise.label}}}\n"
    return body, levels, required, {k: v for k, v in answers.items() if v is not None}, otherwise


@settings(max_examples=120, deadline=None)
@given(cases())
def test_level_is_the_worst_fired_level_and_at_least_yellow_with_a_system_reason(
    case: tuple[str, list[Level], list[bool], dict[str, object], Level],
) -> None:
    body, levels, required, answers, otherwise = case
    pathway = make_pathway(body)
    result = triage.evaluate(pathway, answers=answers, now=NOW)

    values = [answers.get(f"q{i}") for i in range(len(levels))]
    fires = [isinstance(v, int) and v >= 5 for v in values]
    wrong_kind = any(isinstance(v, str) for v in values)
    missing_required = any(
        r and not isinstance(v, int) for v, r in zip(values, required, strict=True)
    )
    system = wrong_kind or missing_required

    assert set(result.fired) == {f"r{i}" for i, f in enumerate(fires) if f}
    fired_levels = [lv for lv, f in zip(levels, fires, strict=True) if f]
    expected = max(fired_levels) if fired_levels else otherwise
    if system:
        expected = max(expected, Level.YELLOW)
    assert result.level == expected
    assert bool(system_reasons(result)) == system
    ordered = [reason.level for reason in result.reasons]
    assert ordered == sorted(ordered, reverse=True)
    assert result.level >= max(ordered, default=Level.GREEN)


@settings(max_examples=60, deadline=None)
@given(cases())
def test_the_same_input_gives_the_same_result(
    case: tuple[str, list[Level], list[bool], dict[str, object], Level],
) -> None:
    body, _, _, answers, _ = case
    first = triage.evaluate(make_pathway(body), answers=dict(answers), now=NOW)
    second = triage.evaluate(make_pathway(body), answers=dict(answers), now=NOW)
    assert first.to_dict() == second.to_dict()
    json.dumps(first.to_dict(), allow_nan=False)
