"""A follow-up that ended and started again (docs/statistics.md, "Patients followed"): each
period of follow-up counts, on both databases. The pathway asks for a form every month
(P1M), overdue 7 days later (P7D); all times are noon UTC, the same day in Oslo. Every
expected figure below was worked out by hand.

R is enrolled 5 Jan 2026 (period 1), ended 14 Feb, enrolled again 20 Mar (period 2, open):
- period 1: due 5 Feb -> answered 6 Feb (in time, green); a report 20 Jan before it; the
  next due (6 Mar) is after the end and does not count;
- the gap: a form on 7 Mar (it would have answered the 6 Mar due had the follow-up gone
  on) is nobody's answer, no report and no form of the WMGA28 list; an item resolved
  1 Mar as a digital contact still counts in the list (the contact belonged to R);
- period 2: due 20 Apr (P1M from its own start) -> answered 21 Apr (in time, green).
Before periods, the enrolment kept only the newest start (20 Mar): January and February
were lost.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient

from store.db import session_scope
from store.models import Patient
from tests.conftest import Service
from tests.integration.api_rows import add_item, add_patient, headers, unique
from tests.integration.stats_rows import (
    column,
    end_enrolment,
    enrol,
    enrol_again,
    publish_scheduled,
    stats,
    upload,
)


def noon(month: int, day: int) -> dt.datetime:
    return dt.datetime(2026, month, day, 12, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def history(service: Service) -> tuple[str, str]:
    """The pathway and R's national id."""
    p = unique("periods")
    url = publish_scheduled(p)
    r = add_patient()
    enrol(r, p, noon(1, 5), own=True)
    end_enrolment(r, p, noon(2, 14))
    enrol_again(r, p, noon(3, 20))
    for day, level in ((noon(1, 20), "yellow"), (noon(2, 6), "green")):
        upload(r, p, "QuestionnaireResponse", day, level, url=url)
    upload(r, p, "QuestionnaireResponse", noon(3, 7), "green", url=url)  # in the gap
    upload(r, p, "QuestionnaireResponse", noon(4, 21), "green", url=url)
    add_item(r, p, "yellow", status="resolved", resolved_at=noon(3, 1), contact="digital")
    with session_scope() as session:
        patient = session.get(Patient, r)
        assert patient is not None and patient.identifier_value is not None
        return p, patient.identifier_value


def figures(found: dict[str, Any], *names: str) -> list[tuple[Any, ...]]:
    return [tuple(b[name] for name in names) for b in column(found, "patients_followed")]


def test_each_period_counts_in_the_months_it_covers(
    client: TestClient, history: tuple[str, str]
) -> None:
    found = stats(client, history[0])
    # Jan: period 1 started. Feb: period 1 ended 14 Feb. Mar: period 2 started 20 Mar.
    # Apr: period 2 goes on. One patient in each month, the gap month (March) included.
    assert figures(found, "patients", "new", "ended") == [
        (1, 1, 0),
        (1, 0, 1),
        (1, 1, 0),
        (1, 0, 0),
    ]
    # One enrolment, with own thresholds, in every month.
    assert [(o["enrolments"], o["with_own"]) for o in column(found, "own_thresholds")] == [
        (1, 1)
    ] * 4


def test_a_tertial_counts_the_patient_once_and_both_periods(
    client: TestClient, history: tuple[str, str]
) -> None:
    p = history[0]
    query = {"pathway": p, "from": "2026-01-01", "to": "2026-04-30", "by": "tertial"}
    answer = client.get("/api/stats", params=query, headers=headers(pathways=[p]))
    assert answer.status_code == 200, answer.text
    (bucket,) = answer.json()["pathways"][0]["buckets"]
    # Both periods lie in January-April: one patient, two periods started, one ended, and
    # one enrolment for the share with own thresholds.
    assert bucket["patients_followed"] == {"patients": 1, "new": 2, "ended": 1}
    assert bucket["own_thresholds"] == {"enrolments": 1, "with_own": 1, "share": 1.0}


def test_the_schedule_runs_per_period_and_not_in_the_gap(
    client: TestClient, history: tuple[str, str]
) -> None:
    found = column(stats(client, history[0]), "scheduled")
    # Due: 5 Feb (period 1) and 20 Apr (period 2), both answered in time; 6 Mar would have
    # fallen in the gap and does not count.
    assert [(s["fell_due"], s["answered_in_time"]) for s in found] == [
        (0, 0),
        (1, 1),
        (0, 0),
        (1, 1),
    ]
    # Answered (green, no physical visit: avoided) 6 Feb and 21 Apr; the gap form of 7 Mar
    # is neither scheduled nor an unscheduled report; the 20 Jan form is a report.
    assert [(s["answered"], s["green"], s["avoided_visits"]) for s in found] == [
        (0, 0, 0),
        (1, 1, 1),
        (0, 0, 0),
        (1, 1, 1),
    ]
    assert [s["unscheduled_reports"] for s in found] == [1, 0, 0, 0]
    # At each month's end nobody is silent: in February and March no period is open long
    # enough (period 2 from 20 Mar is after March's cut, 24 Feb); in April R answered.
    assert [s["silent_patients"] for s in found] == [0, 0, 0, 0]


def report(client: TestClient, pathway: str, tertial: int) -> list[str]:
    params = {"year": "2026", "tertial": str(tertial), "pathway": pathway}
    answer = client.get("/api/reports/tertial", params=params, headers=headers(pathways=[pathway]))
    assert answer.status_code == 200, answer.text
    return answer.text.split("\r\n")[1:-1]


def test_the_wmga28_list_has_one_row_from_the_earliest_start_in_the_tertial(
    client: TestClient, history: tuple[str, str]
) -> None:
    p, national_id = history
    # T1: enrolled 5 Jan (period 1, the earliest in the tertial); forms 20 Jan, 6 Feb and
    # 21 Apr (not the gap form of 7 Mar); the digital contact of 1 Mar.
    assert report(client, p, 1) == [f"{national_id},{p},2026-01-05,3,0,1,0,0,0"]
    # T2: only period 2 overlaps May-August: enrolled 20 Mar, nothing else.
    assert report(client, p, 2) == [f"{national_id},{p},2026-03-20,0,0,0,0,0,0"]
