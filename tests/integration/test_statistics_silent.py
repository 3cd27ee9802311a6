"""Silent patients at the edges (docs/statistics.md): the window ``[T - overdue_after -
every, T]`` holds both its ends, withdrawn data is no data, and a patient with no data at
all or enrolled after the cut is counted as the definition says; on both databases.

The pathway asks for a form every month (P1M), overdue 7 days later (P7D). Month ends T and
cuts C (UTC; Oslo midnight is 23:00 UTC in winter, 22:00 in summer):
Jan T 31 Jan 23:00, C 24 Dec 23:00; Feb T 28 Feb 23:00, C 21 Jan 23:00;
Mar T 31 Mar 22:00, C 24 Feb 22:00; Apr T 30 Apr 22:00, C 23 Mar 22:00.
Everyone is enrolled on 1 Dec 2025 except F (1 Feb 2026). Worked out by hand:
- A: data exactly at Jan's cut, none after: Jan no (C is in the window), Feb-Apr silent.
- B: data 20 Dec and exactly at Feb's end: Jan silent, Feb no (T is in the window), Mar no
  (28 Feb is after Mar's cut), Apr silent.
- C: never any data: silent every month.
- D: data every 10 days: never silent.
- E: data 20 Dec, a withdrawn response 15 Jan, data 10 Feb: Jan silent, Feb no, Mar and
  Apr silent.
- F: enrolled 1 Feb, no data: Feb no (enrolled after the cut), Mar and Apr silent.
Silent per month: Jan B C E = 3; Feb A C = 2; Mar A C E F = 4; Apr A B C E F = 5.
"""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Service
from tests.integration.api_rows import add_patient, unique
from tests.integration.stats_rows import column, enrol, publish_scheduled, stats, upload


def at(year: int, month: int, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def history(service: Service) -> str:
    p = unique("silent")
    url = publish_scheduled(p)
    a, b, c, d, e, f = (add_patient() for _ in range(6))
    for patient in (a, b, c, d, e):
        enrol(patient, p, at(2025, 12, 1), own=False)
    enrol(f, p, at(2026, 2, 1), own=False)

    def data(patient: str, when: dt.datetime, withdrawn: bool = False) -> None:
        upload(patient, p, "QuestionnaireResponse", when, "green", withdrawn=withdrawn, url=url)

    data(a, at(2025, 12, 24, 23))
    data(b, at(2025, 12, 20))
    data(b, at(2026, 2, 28, 23))
    day = at(2025, 12, 1)
    while day < at(2026, 5, 1):
        data(d, day)
        day += dt.timedelta(days=10)
    data(e, at(2025, 12, 20))
    data(e, at(2026, 1, 15), withdrawn=True)
    data(e, at(2026, 2, 10))
    return p


def test_silent_patients_at_the_edges_of_the_window(client: TestClient, history: str) -> None:
    found = column(stats(client, history), "scheduled")
    assert [s["silent_patients"] for s in found] == [3, 2, 4, 5]
