"""The worklist policy: ranking, due times, how new data changes an item, overdue responses."""

from __future__ import annotations

import datetime as dt

import pytest

from triage import Level, parse_duration
from triage.levels import Consultation
from triage.model import Action, Schedule
from triage.worklist import (
    Change,
    OpenItem,
    due_time,
    failed_text,
    on_problem,
    on_result,
    overdue_due,
    overdue_text,
    sort_key,
    sort_rank,
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
    assert on_result(None, RED) == Change(RED, "open", False, "created")


@pytest.mark.parametrize(
    ("before", "status", "after", "expected"),
    [
        (RED, "open", GREEN, Change(GREEN, "open", True, "lowered")),
        (GREEN, "open", RED, Change(RED, "open", False, "raised")),
        (YELLOW, "open", YELLOW, Change(YELLOW, "open", True, "updated")),
        (YELLOW, "acknowledged", RED, Change(RED, "open", False, "reopened")),
        (YELLOW, "acknowledged", YELLOW, Change(YELLOW, "acknowledged", True, "updated")),
        (RED, "acknowledged", GREEN, Change(GREEN, "acknowledged", True, "lowered")),
    ],
)
def test_new_data_updates_the_open_item(
    before: Level, status: str, after: Level, expected: Change
) -> None:
    assert on_result(OpenItem(before, status, override=GREEN), after) == expected  # type: ignore[arg-type]


def test_a_problem_is_at_least_yellow_never_lowers_and_reopens() -> None:
    assert on_problem(None) == Change(YELLOW, "open", False, "created")
    assert on_problem(OpenItem(GREEN, "open")).level == YELLOW
    assert on_problem(OpenItem(RED, "open")).level == RED
    assert on_problem(OpenItem(RED, "acknowledged")) == Change(RED, "open", True, "reopened")


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
