"""Scheduled questionnaires (docs/statistics.md): response rate, green share, avoided
visits and unscheduled reports on a hand-made history, on both databases. The pathway asks
for a form every month (P1M) and calls it overdue 7 days later (P7D); all times are noon
UTC, the same day in Oslo. Each expected figure was worked out by hand, as the comments say.

The chain of due times (P1M after the enrolment, then after each scheduled response):
- A, enrolled 10 Dec 2025: due 10 Jan -> answered 12 Jan (in time, green); a report 1 Feb
  before the next due; due 12 Feb -> answered 25 Feb (late, yellow, resolved as a phone
  call); due 25 Mar -> answered 26 Mar (in time, green, but a physical visit 10 Apr);
  due 26 Apr -> no answer (overdue since 3 May).
- B, enrolled 20 Jan: due 20 Feb -> answered 22 Feb (in time, red, resolved as a physical
  visit 1 Mar); due 22 Mar -> a withdrawn response 23 Mar does not count, answered 5 Apr
  (late, red, resolved without a contact recorded); the next due (5 May) is after April.
- C, enrolled 31 Jan, ended 10 Mar: due 28 Feb (31 Jan + P1M, the day clamped) ->
  answered at 28 Feb noon exactly (in time, green); a report 5 Mar; the next due (28 Mar)
  is after the enrolment ended and does not count.
- E, never enrolled, answers the same form in February: no figure counts it.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from store.db import session_scope
from store.models import UTCDateTime, WorklistItem
from tests.conftest import Service
from tests.integration.api_rows import add_item, add_patient, unique
from tests.integration.stats_rows import (
    column,
    end_enrolment,
    enrol,
    events,
    publish_scheduled,
    stats,
    upload,
    utc,
)
from triage.durations import parse_duration
from usecases.statistics.schedule import shifted


def noon(year: int, month: int, day: int) -> dt.datetime:
    return dt.datetime(year, month, day, 12, tzinfo=dt.UTC)


def resolved(patient: str, pathway: str, result: str, at: dt.datetime, contact: str | None) -> None:
    """An item the result opened, resolved at ``at`` with ``contact``."""
    item = add_item(patient, pathway, "yellow", None, "resolved", created=at)
    events(item, (at, "triage", "created", "yellow"), result=result)
    with session_scope() as session:
        row = session.get(WorklistItem, item)
        assert row is not None
        row.resolved_at, row.resolved_by, row.contact = at, "dr-a", contact
        session.add(row)


@pytest.fixture(scope="module")
def history(service: Service) -> str:
    p = unique("sched")
    url = publish_scheduled(p)
    a, b, c, e = (add_patient() for _ in range(4))
    enrol(a, p, noon(2025, 12, 10), own=False)
    enrol(b, p, noon(2026, 1, 20), own=False)
    enrol(c, p, noon(2026, 1, 31), own=False, active=False)
    end_enrolment(c, p, noon(2026, 3, 10))

    def answer(patient: str, at: dt.datetime, level: str, withdrawn: bool = False) -> str:
        kind = "QuestionnaireResponse"
        return upload(patient, p, kind, at, level, withdrawn=withdrawn, url=url)[1]

    answer(a, noon(2025, 12, 20), "green")  # before the first due: a report, in December
    answer(a, noon(2026, 1, 12), "green")
    answer(a, noon(2026, 2, 1), "green")
    resolved(a, p, answer(a, noon(2026, 2, 25), "yellow"), noon(2026, 2, 27), "phone")
    visit = answer(a, noon(2026, 3, 26), "green")
    resolved(a, p, visit, noon(2026, 4, 10), "physical")
    resolved(b, p, answer(b, noon(2026, 2, 22), "red"), noon(2026, 3, 1), "physical")
    answer(b, noon(2026, 3, 23), "red", withdrawn=True)
    resolved(b, p, answer(b, noon(2026, 4, 5), "red"), noon(2026, 4, 6), None)
    answer(c, noon(2026, 2, 28), "green")
    answer(c, noon(2026, 3, 5), "yellow")
    answer(e, noon(2026, 2, 14), "green")
    return p


def test_response_rate_by_the_month_it_fell_due(client: TestClient, history: str) -> None:
    found = column(stats(client, history), "scheduled")
    due = [(s["fell_due"], s["answered_in_time"], s["response_rate"]) for s in found]
    # Jan: A's 10 Jan, in time -> 1/1. Feb: A's 12 Feb (late), B's 20 Feb and C's 28 Feb
    # (in time) -> 2/3. Mar: B's 22 Mar (late), A's 25 Mar (in time) -> 1/2; C's 28 Mar is
    # after the end of the enrolment. Apr: A's 26 Apr, never answered -> 0/1.
    assert due == [(1, 1, 1.0), (3, 2, 0.6667), (2, 1, 0.5), (1, 0, 0.0)]


def test_green_share_and_avoided_visits_by_the_month_answered(
    client: TestClient, history: str
) -> None:
    found = column(stats(client, history), "scheduled")
    done = [
        (s["answered"], s["green"], s["green_share"], s["avoided_visits"], s["avoided_share"])
        for s in found
    ]
    # Jan: A 12 Jan green, no physical visit within 30 days -> avoided: 1, 1, 1.
    # Feb: A 25 Feb yellow, resolved as a phone call, no visit by 27 Mar -> avoided; B 22
    # Feb red, a physical visit -> not; C 28 Feb green -> avoided: 3 answered, 1 green, 2.
    # Mar: A 26 Mar green, but the physical visit 10 Apr is within 30 days -> not avoided.
    # Apr: B 5 Apr red, resolved without a contact recorded -> never avoided.
    assert done == [
        (1, 1, 1.0, 1, 1.0),
        (3, 1, 0.3333, 2, 0.6667),
        (1, 1, 1.0, 0, 0.0),
        (1, 0, 0.0, 0, 0.0),
    ]


def test_unscheduled_reports_are_counted_apart(client: TestClient, history: str) -> None:
    found = column(stats(client, history), "scheduled")
    # Feb: A's report of 1 Feb (E is not enrolled). Mar: C's report of 5 Mar (B's withdrawn
    # response is no data). A's December report is before the period.
    assert [s["unscheduled_reports"] for s in found] == [0, 1, 1, 0]


def test_silent_patients_at_the_end_of_each_month(client: TestClient, history: str) -> None:
    found = column(stats(client, history), "scheduled")
    # At each month's end T (Oslo midnight), silent = enrolled before T - P7D - P1M and no
    # data since. Jan (cut 24 Dec 23:00 UTC): only A is enrolled before, and sent 12 Jan.
    # Feb (cut 21 Jan 23:00): A (1, 25 Feb) and B (22 Feb) sent data. Mar (cut 24 Feb
    # 22:00): A sent 25 Feb and 26 Mar; B only a withdrawn response on 23 Mar -> B is
    # silent; C's enrolment ended. Apr (cut 23 Mar 22:00): A 26 Mar, B 5 Apr.
    assert [s["silent_patients"] for s in found] == [0, 0, 1, 0]


def test_a_pathway_without_a_schedule_has_no_scheduled_figures(
    client: TestClient, service: Service
) -> None:
    p = unique("nosched")
    enrol(add_patient(), p, utc(1, 5), own=False)
    assert column(stats(client, p), "scheduled") == [None] * 4


AWKWARD = [
    dt.datetime(2026, 1, 31, 10, 0, 0, 123456, tzinfo=dt.UTC),  # to a shorter month
    dt.datetime(2024, 2, 29, 23, 59, 59, tzinfo=dt.UTC),  # a leap day, a second to midnight
    dt.datetime(2026, 3, 28, 23, 30, tzinfo=dt.UTC),  # the night Oslo moves its clocks
    dt.datetime(2025, 12, 31, 0, 0, tzinfo=dt.UTC),  # into the next year
    dt.datetime(2026, 4, 30, 23, 59, 59, 999999, tzinfo=dt.UTC),  # SQLite would round it up
]


@pytest.mark.parametrize(
    "text", ["P1M", "P6M", "P1Y", "P14D", "P2W", "PT36H", "P1M2DT3H", "P1Y1M1W1DT1H1M1S"]
)
def test_the_database_adds_a_duration_as_the_engine_does(service: Service, text: str) -> None:
    """The due times of the chain are computed in SQL: the same instants as
    triage.Duration.after, which the worklist's overdue flag uses."""
    duration = parse_duration(text)
    with session_scope() as session:
        for when in AWKWARD:
            query = sa.select(shifted(session, sa.literal(when, UTCDateTime()), duration))
            assert session.execute(query).scalar_one() == duration.after(when), (text, when)
