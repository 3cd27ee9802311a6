"""The result a clinician sees: level, reasons, action, patient message, and its trace."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

import pytest
from helpers import NOW, make_pathway, pathway_text, reason_texts, system_reasons
from hypothesis import given, settings
from hypothesis import strategies as st

import triage
from triage import Consultation, Level

REVIEW_WORDS = "ser gjennom"  # the engine's "a clinician will look at your answers"
NO_NEED = "Svarene dine tyder ikke på behov for kontroll nå."

SEIZURES = """
    thresholds:
      seizures_red: {value: 3, min: 1, max: 30, doc: Anfall siden sist som gir rødt}
      seizures_yellow: 1
      temp_limit: {value: 38.0, min: 37.5, max: 39.5}
    inputs:
      seizures: {answer: seizure-count, type: number, required: true}
      wants_contact: {answer: wants-contact, type: boolean}
      temp: {answer: temperature, type: number}
      ratio: {answer: ratio, type: number}
    rules:
      - id: many-seizures
        when: seizures >= seizures_red
        level: red
        say: "{seizures} anfall (grense {seizures_red})"
        action: {consultation: phone, within: P14D}
        patient_message: Vi ringer deg innen to uker.
      - id: fever
        when: temp > temp_limit
        level: red
        say: "Feber {temp} °C"
        action: {consultation: physical, within: P1D}
      - id: some-seizures
        when: seizures >= seizures_yellow
        level: yellow
        say: "{seizures} anfall"
        action: {consultation: digital, within: P1D}
        patient_message: Vi sender deg en melding.
      - id: wants-contact
        when: wants_contact
        level: yellow
        say: "Ønsker kontakt: {wants_contact}"
        action: {consultation: phone, within: P7D}
        patient_message: Vi tar kontakt innen en uke.
      - id: ratio-high
        when: ratio > 0.5
        level: yellow
        say: "Andel {ratio}"
    otherwise:
      level: green
      action: {consultation: none}
      patient_message: "Takk! Svarene dine tyder ikke på behov for kontroll nå."
"""
PATHWAY = make_pathway(SEIZURES)


def run(answers: dict[str, object], **kwargs: object) -> triage.Result:
    return triage.evaluate(PATHWAY, answers=answers, now=NOW, **kwargs)  # type: ignore[arg-type]


# -- level, reasons, action --------------------------------------------------------------


def test_level_is_the_worst_fired_rule_and_reasons_are_worst_first() -> None:
    result = run({"seizure-count": 4, "wants-contact": True})
    assert result.level == Level.RED
    assert set(result.fired) == {"many-seizures", "some-seizures", "wants-contact"}
    levels = [reason.level for reason in result.reasons]
    assert levels == sorted(levels, reverse=True)
    assert reason_texts(result)[0] == "4 anfall (grense 3)"
    assert set(reason_texts(result)[1:]) == {"4 anfall", "Ønsker kontakt: ja"}


def test_only_yellow_rules_give_yellow() -> None:
    result = run({"seizure-count": 1})
    assert result.level == Level.YELLOW
    assert result.fired == ("some-seizures",)


@pytest.mark.parametrize(
    ("value", "shown"), [(0.55, "0,6"), (0.65, "0,7"), (0.625, "0,6"), (1.04, "1"), (0.5001, "0,5")]
)
def test_say_shows_numbers_with_at_most_one_decimal_and_a_decimal_comma(
    value: float, shown: str
) -> None:
    result = run({"seizure-count": 0, "ratio": value})
    assert reason_texts(result) == [f"Andel {shown}"]


def test_say_in_an_english_pathway_uses_a_decimal_point() -> None:
    pathway = triage.load_pathway_text(
        pathway_text(SEIZURES).replace("version: 1\n", "version: 1\nlanguage: en\n", 1)
    )
    result = triage.evaluate(
        pathway, answers={"seizure-count": 0, "ratio": 0.75, "wants-contact": True}, now=NOW
    )
    assert set(reason_texts(result)) == {"Andel 0.8", "Ønsker kontakt: yes"}


def test_action_is_the_most_urgent_among_rules_of_the_results_level() -> None:
    # some-seizures (yellow) wants contact within one day, but the red result's action
    # comes from the red rules only.
    result = run({"seizure-count": 5})
    assert result.level == Level.RED
    assert result.action is not None
    assert result.action.consultation == Consultation.PHONE
    assert result.action.within is not None and result.action.within.text == "P14D"


def test_action_shortest_deadline_wins_among_rules_of_one_level() -> None:
    result = run({"seizure-count": 5, "temperature": 39.0})
    assert result.action is not None
    assert result.action.to_dict() == {"consultation": "physical", "within": "P1D"}


def test_action_same_deadline_the_more_demanding_consultation_wins() -> None:
    pathway = make_pathway(
        """
        inputs:
          a: {answer: a, type: boolean}
          b: {answer: b, type: boolean}
          c: {answer: c, type: boolean}
        rules:
          - id: digital
            when: a
            level: yellow
            action: {consultation: digital, within: P7D}
          - id: video
            when: b
            level: yellow
            action: {consultation: video, within: P7D}
          - id: no-deadline
            when: c
            level: yellow
            action: {consultation: physical}
        """
    )
    result = triage.evaluate(pathway, answers={"a": True, "b": True, "c": True}, now=NOW)
    assert result.action is not None
    assert result.action.to_dict() == {"consultation": "video", "within": "P7D"}
    both = triage.evaluate(pathway, answers={"a": True, "b": False, "c": True}, now=NOW)
    assert both.action is not None and both.action.consultation == Consultation.DIGITAL


def test_otherwise_is_the_result_when_nothing_fires() -> None:
    result = run({"seizure-count": 0, "wants-contact": False})
    assert result.level == Level.GREEN
    assert result.fired == ()
    assert result.reasons == ()
    assert result.action is not None and result.action.consultation == Consultation.NONE
    assert result.patient_message == "Takk! " + NO_NEED


def test_without_otherwise_nothing_firing_is_green() -> None:
    pathway = make_pathway(
        """
        inputs:
          a: {answer: a, type: number}
        rules:
          - id: high
            when: a > 5
            level: red
        """
    )
    result = triage.evaluate(pathway, answers={"a": 1}, now=NOW)
    assert result.level == Level.GREEN
    assert result.action is None
    assert result.patient_message is None


def test_otherwise_can_be_yellow() -> None:
    pathway = make_pathway(
        """
        inputs:
          a: {answer: a, type: number}
        rules:
          - id: fine
            when: a < 5
            level: green
        otherwise:
          level: yellow
          patient_message: Vi ser på svarene dine.
        """
    )
    assert triage.evaluate(pathway, answers={"a": 1}, now=NOW).level == Level.GREEN
    result = triage.evaluate(pathway, answers={"a": 9}, now=NOW)
    assert result.level == Level.YELLOW
    assert result.patient_message == "Vi ser på svarene dine."


# -- patient message ---------------------------------------------------------------------


def test_patient_message_comes_from_the_most_urgent_fired_rule_with_one() -> None:
    assert run({"seizure-count": 4}).patient_message == "Vi ringer deg innen to uker."
    # Both yellow: wants-contact (P7D) and some-seizures (P1D): the shorter deadline wins.
    message = run({"seizure-count": 1, "wants-contact": True}).patient_message
    assert message == "Vi sender deg en melding."


def test_patient_message_follows_urgency_not_the_order_of_rules_in_the_file() -> None:
    pathway = make_pathway(
        """
        inputs:
          a: {answer: a, type: number}
        rules:
          - id: soon
            when: a > 1
            level: yellow
            action: {consultation: phone, within: P1D}
            patient_message: Vi ringer deg.
          - id: urgent
            when: a > 5
            level: red
            action: {consultation: physical, within: P7D}
            patient_message: Du får time på poliklinikken.
        """
    )
    result = triage.evaluate(pathway, answers={"a": 9}, now=NOW)
    assert result.level == Level.RED
    assert result.patient_message == "Du får time på poliklinikken."
    assert result.action is not None and result.action.within is not None
    assert result.action.within.text == "P7D"


def test_a_red_rule_without_message_uses_the_next_fired_rule_with_one() -> None:
    result = run({"seizure-count": 0, "temperature": 39.0, "wants-contact": True})
    assert result.level == Level.RED
    assert result.patient_message == "Vi tar kontakt innen en uke."


def test_fired_rules_without_messages_never_give_the_green_otherwise_message() -> None:
    result = run({"seizure-count": 0, "temperature": 39.0})
    assert result.level == Level.RED
    assert result.patient_message is not None
    assert NO_NEED not in result.patient_message
    assert REVIEW_WORDS in result.patient_message


def test_missing_required_answer_with_nothing_fired_is_yellow_and_not_no_need() -> None:
    result = run({"wants-contact": False})
    assert result.level == Level.YELLOW
    assert result.fired == ()
    assert result.patient_message is not None
    assert NO_NEED not in result.patient_message
    assert REVIEW_WORDS in result.patient_message
    assert any("seizures" in text for text in reason_texts(result))


def test_a_fired_green_rule_does_not_tell_a_yellow_patient_there_is_no_need() -> None:
    pathway = make_pathway(
        """
        inputs:
          seizures: {answer: seizure-count, type: number, required: true}
          feels_well: {answer: feels-well, type: boolean}
        rules:
          - id: feels-well
            when: feels_well
            level: green
            patient_message: Fint! Du trenger ingen kontroll nå.
        """
    )
    result = triage.evaluate(pathway, answers={"feels-well": True}, now=NOW)
    assert result.level == Level.YELLOW
    assert result.patient_message is not None
    assert "ingen kontroll" not in result.patient_message
    fine = triage.evaluate(pathway, answers={"feels-well": True, "seizure-count": 0}, now=NOW)
    assert fine.patient_message == "Fint! Du trenger ingen kontroll nå."


def test_patient_message_placeholders_are_filled() -> None:
    pathway = make_pathway(
        """
        thresholds:
          limit: {value: 2.5, min: 1, max: 5}
        inputs:
          a: {answer: a, type: number}
        rules:
          - id: high
            when: a > limit
            level: yellow
            patient_message: "Du svarte {a}, grensen er {limit}."
        """
    )
    result = triage.evaluate(pathway, answers={"a": 3.14}, now=NOW)
    assert result.patient_message == "Du svarte 3,1, grensen er 2,5."


# -- rules that fail while evaluated ------------------------------------------------------

UNTYPED = make_pathway(
    """
    inputs:
      x: {answer: x}
      y: {answer: y, type: number}
    rules:
      - id: x-high
        when: x > 2
        level: yellow
      - id: y-high
        when: y > 2
        level: red
    """
)


def test_a_rule_that_errors_makes_the_result_yellow_with_the_error_as_reason() -> None:
    result = triage.evaluate(UNTYPED, answers={"x": "mye", "y": 1}, now=NOW)
    assert result.level == Level.YELLOW
    assert result.fired == ()
    [error] = system_reasons(result)
    assert error.kind == "error"
    assert error.rule == "x-high"
    assert "x-high" in error.text
    [trace] = [t for t in result.rules if t.id == "x-high"]
    assert trace.status == "error"
    assert REVIEW_WORDS in (result.patient_message or "")


def test_a_rule_that_errors_does_not_lower_a_red_result() -> None:
    result = triage.evaluate(UNTYPED, answers={"x": "mye", "y": 3}, now=NOW)
    assert result.level == Level.RED
    assert [r.level for r in result.reasons] == [Level.RED, Level.YELLOW]


def test_the_untyped_input_works_with_the_kind_of_data_it_is_used_as() -> None:
    assert triage.evaluate(UNTYPED, answers={"x": 3, "y": 0}, now=NOW).fired == ("x-high",)


# -- per-patient thresholds --------------------------------------------------------------


def test_patient_threshold_inside_bounds_is_used_and_recorded() -> None:
    default = run({"seizure-count": 2})
    assert "many-seizures" not in default.fired
    assert default.thresholds["seizures_red"] == 3
    assert default.patient_thresholds == ()

    own = run({"seizure-count": 2}, thresholds={"seizures_red": 2})
    assert own.level == Level.RED
    assert "many-seizures" in own.fired
    assert own.thresholds["seizures_red"] == 2
    assert own.thresholds["seizures_yellow"] == 1
    assert own.patient_thresholds == ("seizures_red",)
    assert reason_texts(own)[0] == "2 anfall (grense 2)"


@pytest.mark.parametrize("value", [1, 30, Decimal("37.5"), 39.5])
def test_patient_threshold_on_the_bounds_is_allowed(value: float) -> None:
    name = "seizures_red" if value in (1, 30) else "temp_limit"
    result = run({"seizure-count": 0}, thresholds={name: value})
    assert result.thresholds[name] == Decimal(str(value))


@pytest.mark.parametrize(
    ("thresholds", "words"),
    [
        ({"seizures_red": 31}, "outside"),
        ({"seizures_red": 0.5}, "outside"),
        ({"temp_limit": 37.4}, "outside"),
        ({"no_such_threshold": 2}, "not a threshold"),
        ({"seizures_yellow": 2}, "no min/max"),
        ({"seizures_red": "2"}, "number"),
        ({"seizures_red": True}, "number"),
        ({"seizures_red": float("nan")}, "finite"),
    ],
)
def test_patient_thresholds_the_pathway_does_not_allow_are_refused(
    thresholds: dict[str, object], words: str
) -> None:
    with pytest.raises(triage.ThresholdError) as caught:
        run({"seizure-count": 0}, thresholds=thresholds)
    assert isinstance(caught.value, ValueError)
    assert words in str(caught.value)
    assert next(iter(thresholds)) in str(caught.value)


# -- tracing -----------------------------------------------------------------------------


def test_result_records_pathway_version_and_sha256_of_the_file_bytes(tmp_path: Path) -> None:
    # A byte order mark and Windows line endings: the hash is of the bytes as stored.
    data = b"\xef\xbb\xbf" + pathway_text(SEIZURES, version=7).replace("\n", "\r\n").encode()
    path = tmp_path / "epilepsy.yaml"
    path.write_bytes(data)
    pathway = triage.load_pathway(path)
    result = triage.evaluate(pathway, answers={"seizure-count": 0}, now=NOW)
    assert result.pathway == "test"
    assert result.version == 7
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    record = result.to_dict()["ruleset"]
    assert record == {"pathway": "test", "version": 7, "sha256": hashlib.sha256(data).hexdigest()}


def test_changing_a_threshold_in_the_file_changes_the_recorded_sha256() -> None:
    changed = make_pathway(SEIZURES.replace("value: 3, min: 1", "value: 4, min: 1"))
    assert (
        run({"seizure-count": 0}).sha256
        != triage.evaluate(changed, answers={"seizure-count": 0}, now=NOW).sha256
    )


def test_to_dict_is_json_with_thresholds_and_input_values_seen() -> None:
    result = run(
        {"seizure-count": 4, "wants-contact": True, "temperature": 37.2},
        thresholds={"temp_limit": 38.5},
    )
    record = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert record["level"] == "red"
    assert record["thresholds"] == {"seizures_red": 3, "seizures_yellow": 1, "temp_limit": 38.5}
    assert record["patient_thresholds"] == ["temp_limit"]
    assert record["inputs"] == {
        "seizures": 4,
        "wants_contact": True,
        "temp": 37.2,
        "ratio": None,
    }
    assert record["action"] == {"consultation": "phone", "within": "P14D"}
    assert record["fired"][0] == "many-seizures"
    assert record["reasons"][0]["level"] == "red"
    assert record["evaluated_at"] == NOW.isoformat()


# -- properties --------------------------------------------------------------------------

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
