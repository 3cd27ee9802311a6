"""The periods of follow-up the enrolment use cases keep, over HTTP on both databases
(``GET /api/patients/{id}/enrolments`` shows them): enrolling opens one, an explicit start
moves the open one's start, new thresholds change none, ending closes it, enrolling again
opens a new one, and a start before the previous end is refused."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import col, select

from store.db import session_scope
from store.models import EnrolmentPeriod, utcnow
from tests.documented import assert_documented
from tests.integration.api_rows import add_patient, headers

ROUTE = "/api/patients/{patient_id}/enrolments"


def periods(client: TestClient, patient: str) -> list[tuple[dt.datetime, dt.datetime | None]]:
    answer = client.get(f"/api/patients/{patient}/enrolments", headers=headers())
    assert answer.status_code == 200, answer.text
    assert_documented("GET", ROUTE, answer)
    (enrolment,) = answer.json()["enrolments"]
    return [
        (
            dt.datetime.fromisoformat(p["start"]),
            dt.datetime.fromisoformat(p["end"]) if p["end"] else None,
        )
        for p in enrolment["periods"]
    ]


def post(client: TestClient, patient: str, **body: Any) -> Any:
    answer = client.post(
        f"/api/patients/{patient}/enrolments",
        json={"pathway": "epilepsy", **body},
        headers=headers(),
    )
    return answer


def test_a_follow_up_that_ends_and_starts_again_keeps_both_periods(client: TestClient) -> None:
    patient = add_patient()
    began = (utcnow() - dt.timedelta(days=200)).replace(microsecond=0)
    assert post(client, patient, enrolled_at=began.isoformat()).status_code == 201
    assert periods(client, patient) == [(began, None)]

    # New thresholds alone: the period stays as it was.
    assert post(client, patient, thresholds={"seizures_red": 2}).status_code == 200
    assert periods(client, patient) == [(began, None)]

    # An explicit start on an active enrolment moves the open period's start.
    moved = began + dt.timedelta(days=10)
    assert post(client, patient, enrolled_at=moved.isoformat()).status_code == 200
    assert periods(client, patient) == [(moved, None)]

    before_end = utcnow()
    ended = client.delete(f"/api/patients/{patient}/enrolments/epilepsy", headers=headers())
    assert ended.status_code == 200, ended.text
    ((start, end),) = periods(client, patient)
    assert start == moved and end is not None and before_end <= end <= utcnow()

    # Starting again before the previous follow-up ended would count days twice: refused,
    # and nothing changes.
    refused = post(client, patient, enrolled_at=(end - dt.timedelta(days=1)).isoformat())
    assert refused.status_code == 422, refused.text
    assert refused.json()["problems"]
    assert periods(client, patient) == [(moved, end)]

    again = post(client, patient)
    assert again.status_code == 200, again.text
    assert again.json()["active"] is True
    restarted = dt.datetime.fromisoformat(again.json()["enrolled_at"])
    assert periods(client, patient) == [(moved, end), (restarted, None)]
    assert restarted >= end

    # An explicit start on the new period moves that one (back to the end of the previous
    # one at most), never into the ended one.
    assert post(client, patient, enrolled_at=end.isoformat()).status_code == 200
    assert periods(client, patient) == [(moved, end), (end, None)]
    earlier = (end - dt.timedelta(seconds=1)).isoformat()
    assert post(client, patient, enrolled_at=earlier).status_code == 422
    assert periods(client, patient) == [(moved, end), (end, None)]


def test_parallel_enrolments_open_one_period(client: TestClient) -> None:
    patient = add_patient()
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: post(client, patient), range(4)))
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    with session_scope() as session:
        query = select(EnrolmentPeriod).where(col(EnrolmentPeriod.patient_id) == patient)
        found = session.exec(query).all()
    assert [(p.pathway_id, p.ended_at) for p in found] == [("epilepsy", None)]
