"""The worklist policy: ranking, due times, how new data changes an item, overdue responses."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage import Level, parse_duration
from triage.levels import Consultation
from triage.model import Action, Schedule
from triage.worklist import (
    Change,
    OpenItem,
    due_time,
    failed_text,
    is_newer,
    merge_reasons,
    note_text,
    on_problem,
    on_result,
    opens_item,
    overdue_due,
    overdue_text,
    sort_key,
    sort_rank,
    without_overdue,
)

OSLO = dt.timezone(dt.timedelta(hours=1))
T0 = dt.datetime(2026, 11, 20, 10, 0, tzinfo=OSLO)
RED, YELLOW, GREEN = Level.RED, Level.YELLOW, Level.GREEN


def test_red_before_yellow_before_green_by_the_clinicians_level_first() -> None:
    assert [sort_rank(RED), sort_rank(YELLOW), sort_rank(GREEN)] == [0, 1, 2]
    assert sort_rank(RED, override=GREEN) == 2
    assert sort_rank(GREEN, override=RED) == 0


def test_within_a_level_the_earliest_due_first_and_no_due_last() -> None:
    items = {
        "late": (YELLOW, None, T0 + dt.timedelta(days=5)),
        "early": (YELLOW, None, T0 + dt.timedelta(days=1)),
        "none": (YELLOW, None, None),
        "red": (RED, None, None),
        "overridden-green": (RED, GREEN, T0),
    }
    order = sorted(items, key=lambda k: sort_key(*items[k]))
    assert order == ["red", "early", "late", "none", "overridden-green"]


def test_due_is_the_actions_deadline_after_the_data() -> None:
    action = Action(Consultation.PHYSICAL, parse_duration("P14D"))
    assert due_time(RED, action, T0) == dt.datetime(2026, 12, 4, 10, 0, tzinfo=OSLO)


def test_a_yellow_without_a_deadline_is_due_for_review_in_three_days() -> None:
    assert due_time(YELLOW, None, T0) == T0 + dt.timedelta(days=3)
    assert due_time(YELLOW, Action(Consultation.PHONE, None), T0) == T0 + dt.timedelta(days=3)
    assert due_time(RED, None, T0) == T0 + dt.timedelta(days=1)
    assert due_time(GREEN, Action(Consultation.NONE, None), T0) is None


def test_the_first_result_creates_an_open_item() -> None:
    assert on_result(None, RED) == Change(RED, "open", False, "created", RED)


@pytest.mark.parametrize(
    ("before", "status", "after", "expected"),
    [
        # Lower data never lowers the item (API.md): the level is held, the override kept.
        (RED, "open", GREEN, Change(RED, "open", True, "updated", RED)),
        (GREEN, "open", RED, Change(RED, "open", False, "raised", RED)),
        (YELLOW, "open", YELLOW, Change(YELLOW, "open", True, "updated", YELLOW)),
        (YELLOW, "acknowledged", RED, Change(RED, "open", False, "reopened", RED)),
        (YELLOW, "acknowledged", YELLOW, Change(YELLOW, "acknowledged", True, "updated", YELLOW)),
        (RED, "acknowledged", GREEN, Change(RED, "acknowledged", True, "updated", RED)),
    ],
)
def test_new_data_raises_the_open_item_and_never_lowers_it(
    before: Level, status: str, after: Level, expected: Change
) -> None:
    item = OpenItem(before, status, override=GREEN, result_level=before)  # type: ignore[arg-type]
    assert on_result(item, after) == expected


@given(st.lists(st.sampled_from([GREEN, YELLOW, RED]), min_size=1, max_size=30))
def test_the_held_level_is_the_worst_result_since_the_item_opened(levels: list[Level]) -> None:
    change = on_result(None, levels[0])
    for level in levels[1:]:
        held = OpenItem(change.level, change.status, None, change.result_level)
        change = on_result(held, level)
        assert change.level >= held.level  # never falls
    assert change.level == change.result_level == max(levels)


def test_a_new_red_upload_reopens_an_acknowledged_red_and_drops_a_lower_override() -> None:
    seen = OpenItem(RED, "acknowledged", None, RED)
    assert on_result(seen, RED) == Change(RED, "open", False, "reopened", RED)
    overridden = OpenItem(RED, "open", GREEN, RED)
    assert on_result(overridden, RED) == Change(RED, "open", False, "raised", RED)
    # The same red judged again with a new version is no news; a yellow upload neither.
    assert on_result(seen, RED, new_data=False) == Change(RED, "acknowledged", True, "updated", RED)
    assert on_result(overridden, YELLOW).keep_override
    assert on_result(OpenItem(RED, "open", RED, RED), RED).keep_override  # agreed: kept


def test_a_result_on_an_item_a_problem_opened_keeps_the_problems_level() -> None:
    overdue = OpenItem(YELLOW, "open", None, None)
    assert on_result(overdue, GREEN) == Change(YELLOW, "open", True, "updated", GREEN)


def test_the_overdue_flag_leaves_when_the_form_arrives_and_only_it() -> None:
    reasons = [
        {"kind": "overdue", "level": "yellow", "text": "Skjema ikke besvart", "key": "overdue:x"},
        {"kind": "failed", "level": "yellow", "text": "Kunne ikke triageres", "key": "failed:1"},
    ]
    kept, level = without_overdue(reasons, GREEN)
    assert [r["kind"] for r in kept] == ["failed"] and level == YELLOW
    kept, level = without_overdue(reasons[:1], GREEN)
    assert (kept, level) == ([], GREEN)
    kept, level = without_overdue([*reasons[:1], {"rule": "r", "level": "red"}], YELLOW)
    assert level == RED  # a red reason held by the item stays


def test_reasons_are_kept_one_per_rule_at_their_worst_with_the_time_of_their_data() -> None:
    red = {"rule": "low-oxygen", "level": "red", "text": "SpO2 84 %", "at": "2026-11-20T08:00"}
    yellow = {
        "rule": "low-oxygen",
        "level": "yellow",
        "text": "SpO2 91 %",
        "at": "2026-11-20T09:00",
    }
    newer_red = {**red, "text": "SpO2 82 %", "at": "2026-11-20T10:00"}
    other = {"rule": "high-pulse", "level": "yellow", "text": "Puls 118", "at": "2026-11-20T09:00"}
    assert merge_reasons([red], [yellow]) == [red]  # the worst stays with its own time
    assert merge_reasons([red], [newer_red, other]) == [red, other]  # first seen stays
    assert merge_reasons([yellow], [red]) == [red]  # a worse one replaces it
    assert merge_reasons([], [other, red]) == [red, other]  # worst first
    assert merge_reasons([], [newer_red, red]) == [red]  # the earlier data of one upload


def test_the_newest_is_the_newest_data_not_the_last_to_arrive() -> None:
    shown = {"level": "green", "at": "2026-11-20T10:00:00+00:00", "made": "2026-11-20T10:01:00"}
    late = {"level": "red", "at": "2026-11-20T08:00:00+00:00", "made": "2026-11-20T12:00:00"}
    assert not is_newer(late, shown)
    assert is_newer({**late, "at": "2026-11-20T10:30:00+00:00"}, shown)
    assert is_newer(late, None)


def test_a_rejudgement_opens_an_item_only_above_green() -> None:
    assert [opens_item(level) for level in (GREEN, YELLOW, RED)] == [False, True, True]


def test_a_problem_is_at_least_yellow_never_lowers_and_reopens() -> None:
    assert on_problem(None) == Change(YELLOW, "open", False, "created")
    assert on_problem(OpenItem(GREEN, "open")).level == YELLOW
    assert on_problem(OpenItem(RED, "open")).level == RED
    assert on_problem(OpenItem(RED, "acknowledged", None, RED)) == Change(
        RED, "open", True, "reopened", RED
    )


SIX_MONTHS = Schedule(parse_duration("P6M"), parse_duration("P14D"))


def test_overdue_counts_from_the_last_response() -> None:
    last = dt.datetime(2026, 4, 18, 9, 0, tzinfo=dt.UTC)
    enrolled = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    due = dt.datetime(2026, 10, 18, 9, 0, tzinfo=dt.UTC)
    assert overdue_due(SIX_MONTHS, last, enrolled, due + dt.timedelta(days=13)) is None
    assert overdue_due(SIX_MONTHS, last, enrolled, due + dt.timedelta(days=14)) == due


def test_overdue_counts_from_enrolment_when_nothing_came() -> None:
    enrolled = dt.datetime(2026, 1, 10, tzinfo=dt.UTC)
    assert overdue_due(SIX_MONTHS, None, enrolled, dt.datetime(2026, 7, 23, tzinfo=dt.UTC)) is None
    flagged = overdue_due(SIX_MONTHS, None, enrolled, dt.datetime(2026, 7, 24, tzinfo=dt.UTC))
    assert flagged == dt.datetime(2026, 7, 10, tzinfo=dt.UTC)


def test_a_response_before_enrolment_does_not_start_the_clock() -> None:
    old = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    enrolled = dt.datetime(2026, 1, 10, tzinfo=dt.UTC)
    assert overdue_due(SIX_MONTHS, old, enrolled, dt.datetime(2026, 3, 1, tzinfo=dt.UTC)) is None


def test_texts_in_the_pathways_language() -> None:
    due = dt.datetime(2026, 10, 31, 23, 30, tzinfo=dt.UTC)  # 1 Nov in Oslo
    assert overdue_text(due, "nb") == "Skjema ikke besvart: forfalt 01.11.2026"
    assert overdue_text(due, "en") == "Questionnaire not answered: due 2026-11-01"
    assert failed_text("internal", "nb") == "Kunne ikke triageres: intern feil"
    assert failed_text("missing-data", "en") == "Could not be triaged: the data sent is missing"
    assert failed_text("anything else", "nb") == "Kunne ikke triageres: intern feil"


def test_notes_in_the_pathways_language() -> None:
    when = dt.datetime(2026, 11, 20, 7, 30, tzinfo=dt.UTC)
    text = note_text("withdrawn", "nb", when=when, what="Observation/o-1", level="red")
    assert (
        text
        == "Trukket tilbake som feilregistrert: Observation/o-1 fra 20.11.2026 08:30, vurdert rød"
    )
    text = note_text("corrected", "en", when=when, what="Observation/o-1", level="green", version=2)
    assert text == "Corrected: Observation/o-1 of 20.11.2026 08:30 (version 2), judged green before"
    assert note_text("unread-form", "nb", form="http://x/q") == (
        "Skjema som ingen forløp leser (http://x/q): les svarene"
    )
