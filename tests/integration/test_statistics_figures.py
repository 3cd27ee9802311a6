"""GET /api/stats on a small hand-made history (docs/statistics.md), on the embedded
default and on PostgreSQL: every expected figure below was worked out by hand from the rows
written here, and the comment beside it says how. The period is January to April 2026 by
month, in Oslo time (UTC+1, UTC+2 from 29 March)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from store.db import session_scope
from store.models import WorklistItem
from tests.conftest import Service
from tests.integration.api_rows import add_item, add_patient, unique
from tests.integration.stats_rows import (
    column,
    end_enrolment,
    enrol,
    events,
    oslo,
    result,
    stats,
    upload,
    utc,
)

JAN, FEB, MAR, APR = range(4)


@pytest.fixture(scope="module")
def history(service: Service) -> str:
    p = unique("stats")
    a, b, c, d, e = (add_patient() for _ in range(5))
    # Enrolments: A since December; B new 10 Feb (own threshold); C new 5 Jan, ended 15
    # March; D new 1 Jan 00:30 Oslo (31 Dec UTC), inactive without an end row (ended at
    # its start, so only January); E starts 1 May, after the period; A in another pathway.
    enrol(a, p, oslo(12, 15, year=2025), own=False)
    enrol(b, p, oslo(2, 10), own=True)
    enrol(c, p, oslo(1, 5), own=False, active=False)
    enrol(d, p, oslo(1, 1, 0, 30), own=True, active=False)
    enrol(e, p, oslo(5, 1, 0, 0), own=False)
    enrol(a, unique("other"), oslo(1, 5), own=True)
    end_enrolment(c, p, oslo(3, 15))
    # Uploads and results: see test_events.
    upload(a, p, "QuestionnaireResponse", oslo(1, 10), "green")
    upload(a, p, "Observation", oslo(1, 31, 23, 30), "yellow")
    upload(b, p, "QuestionnaireResponse", oslo(3, 1, 0, 30), "red", data_time=oslo(2, 27))
    upload(c, p, "QuestionnaireResponse", oslo(2, 5), "red", withdrawn=True)
    r5, _ = upload(a, p, "QuestionnaireResponse", oslo(4, 2), "green")
    result(a, p, r5, "yellow", oslo(4, 3), "rejudge")
    upload(a, unique("other"), "Observation", oslo(1, 12), "red")
    # Items: see test_contacts, test_time_to_acknowledge, test_overdue, test_alert_load.
    tri = "triage"
    i1 = add_item(a, p, "red", utc(1, 11, 8), "resolved", created=utc(1, 10, 8))
    events(
        i1, (utc(1, 10, 8), tri, "created", "red"), (utc(1, 10, 10), "dr-a", "acknowledged", "red")
    )
    i2 = add_item(b, p, "red", utc(3, 1, 12), "resolved", created=utc(2, 27, 12))
    events(
        i2,
        (utc(2, 27, 12), tri, "created", "yellow"),
        (utc(2, 28, 12), tri, "raised", "red"),
        (utc(2, 28, 13), "dr-d", "override", "yellow"),
        (utc(3, 2, 12), "dr-b", "acknowledged", "red"),
        (utc(3, 3, 9), "dr-b", "resolved", "red"),
    )
    i3 = add_item(c, p, "yellow", utc(3, 8, 8), "resolved", created=utc(3, 5, 8))
    events(
        i3,
        (utc(3, 5, 8), tri, "created", "yellow"),
        (utc(3, 5, 14), "dr-a", "acknowledged", "yellow"),
        (utc(3, 8, 9), "dr-a", "acknowledged", "yellow"),
        (utc(3, 10, 9), "dr-a", "resolved", "yellow"),
    )
    i4 = add_item(b, p, "red", utc(3, 21, 10), "resolved", created=utc(3, 20, 10))
    events(
        i4,
        (utc(3, 20, 10), tri, "created", "red"),
        (utc(3, 20, 11), "dr-c", "acknowledged", "red"),
        (oslo(3, 31, 23, 30), "dr-c", "resolved", "red"),
    )
    i6 = add_item(a, p, "red", utc(3, 26, 0), "acknowledged", created=utc(3, 25, 0))
    events(
        i6, (utc(3, 25, 0), tri, "created", "red"), (utc(3, 25, 3), "dr-a", "acknowledged", "red")
    )
    i5 = add_item(d, p, "yellow", utc(4, 4, 8), "open", created=utc(4, 1, 8))
    events(i5, (utc(4, 1, 8), tri, "created", "yellow"), (utc(4, 2, 8), tri, "noted", "yellow"))
    i7 = add_item(c, p, "green", None, "resolved", created=utc(1, 15, 8))
    events(
        i7, (utc(1, 15, 8), tri, "created", "green"), (utc(1, 16, 8), "dr-b", "resolved", "green")
    )
    resolved = {
        i1: (utc(1, 20, 9), "digital"),
        i2: (utc(3, 3, 9), "physical"),
        i3: (utc(3, 10, 9), None),
        i4: (oslo(3, 31, 23, 30), "phone"),
        i7: (utc(1, 16, 8), "none"),
    }
    with session_scope() as session:
        for item_id, (at, contact) in resolved.items():
            row = session.get(WorklistItem, item_id)
            assert row is not None
            row.resolved_at, row.resolved_by, row.contact = at, "dr", contact
            session.add(row)
    return p


def test_buckets_are_the_oslo_months(client: TestClient, history: str) -> None:
    found = stats(client, history)
    starts = column(found, "start")
    # Midnight in Oslo: UTC+1 in winter; April starts after the change to summer time.
    assert starts == [
        "2025-12-31T23:00:00+00:00",
        "2026-01-31T23:00:00+00:00",
        "2026-02-28T23:00:00+00:00",
        "2026-03-31T22:00:00+00:00",
    ]
    assert found["buckets"][APR]["end"] == "2026-04-30T22:00:00+00:00"


def test_patients_followed(client: TestClient, history: str) -> None:
    followed = column(stats(client, history), "patients_followed")
    # Jan: A, C (new 5 Jan), D (new 1 Jan 00:30 Oslo, ended at its start) -> 3, new 2, ended 1.
    # Feb: A, B (new), C -> 3. Mar: A, B, C (ended 15 March, still counted) -> 3, ended 1.
    # Apr: A, B -> 2. E (1 May) and A's other pathway never count.
    assert followed == [
        {"patients": 3, "new": 2, "ended": 1},
        {"patients": 3, "new": 1, "ended": 0},
        {"patients": 3, "new": 0, "ended": 1},
        {"patients": 2, "new": 0, "ended": 0},
    ]


def test_own_thresholds(client: TestClient, history: str) -> None:
    own = column(stats(client, history), "own_thresholds")
    # Jan: A, C, D active; D has its own -> 1/3. Feb, Mar: A, B, C; B has -> 1/3. Apr: A, B.
    assert own == [
        {"enrolments": 3, "with_own": 1, "share": 0.3333},
        {"enrolments": 3, "with_own": 1, "share": 0.3333},
        {"enrolments": 3, "with_own": 1, "share": 0.3333},
        {"enrolments": 2, "with_own": 1, "share": 0.5},
    ]


def test_events(client: TestClient, history: str) -> None:
    found = column(stats(client, history), "events")
    uploads = [e["uploads"] for e in found]
    results = [e["results"] for e in found]
    # Uploads by the time received: Jan a response (10 Jan) and a reading (31 Jan 23:30
    # Oslo, 22:30 UTC); Mar B's response (received 1 March 00:30 Oslo); Apr A's response.
    # C's withdrawn response (Feb) and the other pathway's reading never count.
    assert uploads == [
        {"QuestionnaireResponse": 1, "Observation": 1},
        {"QuestionnaireResponse": 0, "Observation": 0},
        {"QuestionnaireResponse": 1, "Observation": 0},
        {"QuestionnaireResponse": 1, "Observation": 0},
    ]
    # Results by the time of their data: B's red response is dated 27 Feb (Feb, not Mar);
    # the re-judgement of A's April response (yellow) is not an event.
    assert results == [
        {"red": 0, "yellow": 1, "green": 1},
        {"red": 1, "yellow": 0, "green": 0},
        {"red": 0, "yellow": 0, "green": 0},
        {"red": 0, "yellow": 0, "green": 1},
    ]


def test_contacts_by_type(client: TestClient, history: str) -> None:
    contacts = column(stats(client, history), "contacts")
    nothing = dict.fromkeys(("none", "digital", "phone", "video", "physical"), 0)
    nothing["not_recorded"] = 0
    # Jan: I1 digital (20 Jan), I7 none (16 Jan). Mar: I2 physical, I3 without a contact,
    # I4 phone at 31 March 23:30 Oslo (21:30 UTC: still March in Oslo).
    assert contacts == [
        {**nothing, "digital": 1, "none": 1},
        nothing,
        {**nothing, "physical": 1, "not_recorded": 1, "phone": 1},
        nothing,
    ]


def test_time_to_acknowledge(client: TestClient, history: str) -> None:
    found = stats(client, history)
    times = column(found, "time_to_acknowledge")
    none = {"count": 0, "median_hours": None, "p90_hours": None}
    # Jan: I1 red, created 08:00, acknowledged 10:00 -> 2 h.
    assert times[JAN] == {
        "red": {"count": 1, "median_hours": 2.0, "p90_hours": 2.0},
        "yellow": none,
        "green": none,
    }
    assert times[FEB] == {"red": none, "yellow": none, "green": none}
    # Mar (first acknowledgements): I2 red, 72 h from its first yellow (27 Feb 12:00; 2026
    # has no 29 Feb) to 2 Mar 12:00; I4 red 1 h; I6 red 3 h -> sorted 1, 3, 72: median rank
    # ceil(1.5) = 2 -> 3 h, p90 rank ceil(2.7) = 3 -> 72 h. I3 yellow 6 h (its second
    # acknowledgement is not the first).
    assert times[MAR] == {
        "red": {"count": 3, "median_hours": 3.0, "p90_hours": 72.0},
        "yellow": {"count": 1, "median_hours": 6.0, "p90_hours": 6.0},
        "green": none,
    }
    in_time = column(found, "red_acknowledged_in_time")
    # I1 before its due (11 Jan); I4, I6 before theirs, I2 after (due 1 Mar 12:00) -> 2/3.
    assert in_time[JAN] == {"acknowledged": 1, "in_time": 1, "share": 1.0}
    assert in_time[MAR] == {"acknowledged": 3, "in_time": 2, "share": 0.6667}
    assert in_time[APR] == {"acknowledged": 0, "in_time": 0, "share": None}


def test_overdue(client: TestClient, history: str) -> None:
    found = stats(client, history)
    # I2 was due 1 Mar 12:00, acknowledged 2 Mar: overdue in March. I5 due 4 Apr, never
    # acknowledged: overdue in April, and the one open item past due now (I6 is
    # acknowledged, the others resolved).
    assert column(found, "overdue") == [0, 0, 1, 1]
    assert found["overdue_now"] == 1


def test_alert_load(client: TestClient, history: str) -> None:
    load = column(stats(client, history), "alert_load")
    # Opened red/yellow: Jan I1 (I7 opened green) over 31 days; clinicians dr-a (I1) and
    # dr-b (resolved I7) -> 1/2. Feb: I2 (opened yellow) over 28 days; dr-d overrode it.
    # Mar: I3, I4, I6 over 31 days; dr-a, dr-b, dr-c acted. Apr: I5 over 30 days; the
    # worker's note is no clinician.
    assert load == [
        {"opened": 1, "per_day": 0.0323, "clinicians": 2, "per_clinician": 0.5},
        {"opened": 1, "per_day": 0.0357, "clinicians": 1, "per_clinician": 1.0},
        {"opened": 3, "per_day": 0.0968, "clinicians": 3, "per_clinician": 1.0},
        {"opened": 1, "per_day": 0.0333, "clinicians": 0, "per_clinician": None},
    ]
