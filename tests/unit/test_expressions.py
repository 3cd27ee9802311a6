"""`when` and `derived` expressions: the fast evaluator gives rule-engine's own answers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from helpers import pathway_text
from hypothesis import given, settings
from hypothesis import strategies as st
from rule_engine import errors as re_errors

import triage
from triage.expressions import (
    UNKNOWN,
    CompiledExpression,
    ExpressionError,
    compile_expression,
    engine_type,
    to_engine_value,
)

TYPES = {
    "a": engine_type("number"),
    "b": engine_type("number"),
    "n": engine_type("number"),  # may be null
    "s": engine_type("text"),
    "c": engine_type("code"),
    "f": engine_type("boolean"),
    "g": engine_type("boolean"),
}

EXPRESSIONS = [
    # logic
    "f and g",
    "f or g",
    "not f",
    "not (f and g) or (a > b and not g)",
    # comparisons
    "a == b",
    "a != b",
    "a < b",
    "a <= b",
    "a > b",
    "a >= b",
    "a >= 2.5",
    # arithmetic
    "a + b",
    "a - b",
    "a * b",
    "a / b",
    "a + b * 2 - a / 4 > b",
    "(a - b) * (a + b) <= a * a",
    # unary minus
    "-a",
    "-a < b",
    "-(a - b) == b - a",
    # in with arrays
    "a in [1, 2.5, 3]",
    "s in ['ja', 'kanskje']",
    "c in ['bed', 'wheelchair'] and a > 1",
    "s not in ['nei']",
    # strings
    "s == 'ja'",
    "s != c",
    "s == c or s == 'nei'",
    # ternary
    "f ? a : b",
    "a > 3 ? 'høy' : 'lav'",
    "(f ? a : -a) > b",
    # null
    "n == null",
    "n != null",
    "n == null or n > a",
    "n != null and n >= b",
    "n > a",
]

numbers = st.one_of(
    st.integers(min_value=-50, max_value=50).map(Decimal),
    st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False),
)
texts = st.one_of(st.sampled_from(["ja", "nei", "kanskje", "bed", "wheelchair", ""]), st.text())

values_strategy = st.fixed_dictionaries(
    {
        "a": numbers,
        "b": numbers,
        "n": st.one_of(st.none(), numbers),
        "s": texts,
        "c": texts,
        "f": st.booleans(),
        "g": st.booleans(),
    }
)

COMPILED = {text: compile_expression(text, TYPES) for text in EXPRESSIONS}


def outcome(evaluate: Any, values: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "value", evaluate(values)
    except Exception as exc:  # compared between the two evaluators, not swallowed
        return "error", type(exc)


@pytest.mark.parametrize("text", EXPRESSIONS)
@settings(max_examples=80, deadline=None)
@given(values=values_strategy)
def test_fast_evaluation_agrees_with_rule_engine(text: str, values: dict[str, Any]) -> None:
    expression: CompiledExpression = COMPILED[text]
    fast = outcome(expression.evaluate, values)
    reference = outcome(expression.evaluate_reference, values)
    assert fast == reference
    if fast[0] == "value" and isinstance(fast[1], Decimal):
        assert type(reference[1]) is Decimal


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("a + b * 2 - a / 4 > b", {"a": Decimal(8), "b": Decimal(1)}, True),
        ("a - b", {"a": Decimal("84.3"), "b": Decimal("82.0")}, Decimal("2.3")),
        ("-a < b", {"a": Decimal(-3), "b": Decimal(2)}, False),
        ("s in ['ja', 'kanskje']", {"s": "kanskje"}, True),
        ("a in [1, 2.5, 3]", {"a": Decimal("2.5")}, True),
        ("a in [1, 2.5, 3]", {"a": Decimal("2.4")}, False),
        ("a > 3 ? 'høy' : 'lav'", {"a": Decimal(4)}, "høy"),
        ("n == null", {"n": None}, True),
        ("n == null or n > a", {"n": Decimal(5), "a": Decimal(1)}, True),
        ("not (f and g) or (a > b and not g)", {"f": True, "g": True, "a": 1, "b": 0}, False),
    ],
)
def test_known_answers(text: str, values: dict[str, Any], expected: Any) -> None:
    values = {k: to_engine_value(v) for k, v in values.items()}
    assert COMPILED[text].evaluate(values) == expected
    assert COMPILED[text].evaluate_reference(values) == expected


def test_names_are_the_ones_the_expression_uses_in_order() -> None:
    assert compile_expression("b > a and f", TYPES).names == ("b", "a", "f")
    assert compile_expression("s == 'a and b'", TYPES).names == ("s",)


@pytest.mark.parametrize(
    ("text", "kind", "name"),
    [
        ("weight > 3", "unknown-name", "weight"),
        ("a > limit_red", "unknown-name", "limit_red"),
        ("a > 'tre'", "type", None),
        ("s + 1 > 2", "type", None),
        ("f > 1", "type", None),
        ("s < a", "type", None),
        ("a >", "syntax", None),
        ("a >> = 2", "syntax", None),
        ("(a > 1", "syntax", None),
        ("   ", "syntax", None),
    ],
)
def test_compile_errors_have_the_right_kind(text: str, kind: str, name: str | None) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text, TYPES)
    assert caught.value.kind == kind
    if name is not None:
        assert caught.value.name == name


def test_an_unknown_name_in_a_pathway_is_refused_with_its_line() -> None:
    text = pathway_text(
        """
        inputs:
          seizures: {answer: seizure-count, type: number}
        rules:
          - id: many
            when: seizurs >= 3
            level: red
        """
    )
    with pytest.raises(triage.PathwayError) as caught:
        triage.load_pathway_text(text, "epilepsy.yaml")
    [problem] = caught.value.problems
    assert problem.code == "unknown-name"
    assert problem.file == "epilepsy.yaml"
    assert text.splitlines()[problem.line - 1].strip() == "when: seizurs >= 3"
    assert "seizures" in problem.message("en")  # did you mean


def test_a_type_mismatch_in_a_pathway_is_refused() -> None:
    text = pathway_text(
        """
        inputs:
          seizures: {answer: seizure-count, type: number}
        rules:
          - id: many
            when: seizures >= 'mange'
            level: red
        """
    )
    with pytest.raises(triage.PathwayError) as caught:
        triage.load_pathway_text(text)
    assert [p.code for p in caught.value.problems] == ["type-mismatch"]


def test_to_engine_value_makes_numbers_exact_decimals() -> None:
    assert to_engine_value(0.1) == Decimal("0.1")
    assert to_engine_value(3) == Decimal(3)
    assert to_engine_value(True) is True
    with pytest.raises(TypeError):
        to_engine_value([1, 2])


@pytest.mark.parametrize("text", [t for t in EXPRESSIONS if "[" not in t])
def test_the_fast_path_is_what_the_agreement_test_checks(text: str) -> None:
    # Without this the agreement test could pass by comparing rule-engine with itself.
    # (An array literal, as in `s in ['ja']`, still goes through rule-engine's own path.)
    expression = COMPILED[text]
    assert expression._evaluate != expression.rule.evaluate


# -- three-valued (Kleene) evaluation with missing names -----------------------------------

U = UNKNOWN
TRUTH = {True: True, False: False, U: U}


def kleene(text: str, **known: Any) -> Any:
    """Evaluate ``text`` with the boolean names given as True/False/UNKNOWN."""
    values = {k: v for k, v in known.items() if v is not U}
    missing = {k for k, v in known.items() if v is U}
    return compile_expression(text, TYPES).evaluate_kleene(values, missing)


@pytest.mark.parametrize(
    ("f", "g", "conjunction", "disjunction"),
    [
        (True, True, True, True),
        (True, False, False, True),
        (False, True, False, True),
        (False, False, False, False),
        (True, U, U, True),
        (U, True, U, True),
        (False, U, False, U),
        (U, False, False, U),
        (U, U, U, U),
    ],
)
def test_and_or_truth_tables_with_unknown(
    f: Any, g: Any, conjunction: Any, disjunction: Any
) -> None:
    assert kleene("f and g", f=f, g=g) is conjunction
    assert kleene("f or g", f=f, g=g) is disjunction


@pytest.mark.parametrize(("f", "negation"), [(True, False), (False, True), (U, U)])
def test_not_of_unknown_is_unknown(f: Any, negation: Any) -> None:
    assert kleene("not f", f=f) is negation
    assert kleene("not not f", f=f) is TRUTH[f]


def test_unknown_is_neither_true_nor_false() -> None:
    with pytest.raises(TypeError):
        bool(UNKNOWN)
    assert repr(UNKNOWN) == "UNKNOWN"


@pytest.mark.parametrize(
    ("text", "values", "missing", "expected"),
    [
        # The contract's own example: a systolic of 210 sent alone fires.
        ("a >= 180 or b >= 110", {"a": 210}, {"b"}, True),
        ("a >= 180 or b >= 110", {"a": 120}, {"b"}, U),
        ("b >= 110 or a >= 180", {"a": 210}, {"b"}, True),
        ("a >= 180 and b >= 110", {"a": 120}, {"b"}, False),
        ("a >= 180 and b >= 110", {"a": 210}, {"b"}, U),
        # Comparison, arithmetic, `in` and null tests of an unknown value are unknown.
        ("n == null", {}, {"n"}, U),
        ("n != null", {}, {"n"}, U),
        ("a + b > 1", {"a": 5}, {"b"}, U),
        ("-a < b", {"b": 1}, {"a"}, U),
        ("s in ['ja', 'kanskje']", {}, {"s"}, U),
        ("not (a > b)", {"a": 1}, {"b"}, U),
        # A ternary with a known condition evaluates only its chosen branch.
        ("f ? a : b", {"f": True, "a": 4}, {"b"}, Decimal(4)),
        ("f ? a : b", {"f": False, "a": 4}, {"b"}, U),
        ("f ? a : b", {"a": 4, "b": 4}, {"f"}, U),
        ("(f ? a : b) > 3", {"f": True, "a": 4}, {"b"}, True),
        # Nested: (unknown or true) and true.
        ("(g or a > 1) and not (b > a)", {"a": 5, "b": 1}, {"g"}, True),
        ("(g or a > 1) and not (b > a)", {"a": 0, "b": 0}, {"g"}, U),
        ("(g or a > 1) and not (b > a)", {"a": 0, "b": 1}, {"g"}, False),
        ("not (f and g) or (a > b and not g)", {"g": False}, {"f", "a", "b"}, True),
    ],
)
def test_kleene_known_answers(
    text: str, values: dict[str, Any], missing: set[str], expected: Any
) -> None:
    values = {k: to_engine_value(v) for k, v in values.items()}
    got = compile_expression(text, TYPES).evaluate_kleene(values, missing)
    assert got is expected if expected is U or isinstance(expected, bool) else got == expected


def test_kleene_keeps_rule_engine_errors_of_known_data() -> None:
    expression = compile_expression("a / b > 1 or f", TYPES)
    with pytest.raises(re_errors.EngineError, match="division by zero"):
        expression.evaluate_kleene({"a": Decimal(1), "b": Decimal(0)}, {"f"})


def test_kleene_of_an_expression_rule_engine_evaluates_itself() -> None:
    # An array of names is not sped up; its names are then unknown as a whole.
    expression = compile_expression("a in [b, 3] or f", TYPES)
    assert expression._evaluate == expression.rule.evaluate
    assert expression.evaluate_kleene({"a": Decimal(3), "f": True}, {"b"}) is True
    assert expression.evaluate_kleene({"a": Decimal(3), "f": False}, {"b"}) is U
    assert expression.evaluate_kleene({"a": Decimal(3), "b": Decimal(1), "f": False}, set()) is True


@pytest.mark.parametrize("text", EXPRESSIONS)
@settings(max_examples=60, deadline=None)
@given(values=values_strategy)
def test_kleene_with_nothing_missing_agrees_with_rule_engine(
    text: str, values: dict[str, Any]
) -> None:
    expression = COMPILED[text]
    assert outcome(lambda v: expression.evaluate_kleene(v, frozenset()), values) == outcome(
        expression.evaluate_reference, values
    )


@pytest.mark.parametrize("text", EXPRESSIONS)
@settings(max_examples=60, deadline=None)
@given(values=values_strategy, data=st.data())
def test_a_known_kleene_answer_holds_whatever_the_missing_values_are(
    text: str, values: dict[str, Any], data: st.DataObject
) -> None:
    # Soundness: a result the engine calls known must be the one rule-engine gives once
    # the missing values arrive, whatever they turn out to be.
    expression = COMPILED[text]
    missing = data.draw(st.sets(st.sampled_from(expression.names)))
    known = {k: v for k, v in values.items() if k not in missing}
    got = outcome(lambda v: expression.evaluate_kleene(v, missing), known)
    if got[0] == "error" or got[1] is UNKNOWN:
        return
    full = outcome(expression.evaluate_reference, values)
    if full[0] == "value":  # an error on data not read (a short-circuit) is no disagreement
        assert got == full
