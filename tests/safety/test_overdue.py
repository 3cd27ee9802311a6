"""API.md "Worklists": the one exception to a held level is the overdue flag, which leaves
when the overdue questionnaire arrives. It must leave for that alone: not for a response
that arrives ``entered-in-error``, and never taking a red with it. (The service runs its
overdue check every 5 s here: OVERDUE_CHECK_SECONDS in service.py.)"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.safety.answers import kinds_of, rules_of
from tests.safety.client import Api, Patient
from tests.safety.fhir_builders import COPD, EPI, ago, cat, epilepsy, spo2


def _overdue(api: Api, pathway: str, days: int, **thresholds: Any) -> Patient:
    """A patient whose follow-up began ``days`` ago and who never answered: flagged."""
    patient = api.new_patient()
    began = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).isoformat()
    body = {"pathway": pathway, "thresholds": thresholds, "enrolled_at": began}
    api.staff_post(f"/api/patients/{patient.id}/enrolments", body)
    api.wait_until(
        f"the overdue check flags the {pathway} questionnaire",
        lambda: (item := api.item(patient, pathway)) and "overdue" in kinds_of(item),
    )
    return patient


def test_a_response_arriving_entered_in_error_does_not_clear_an_overdue_flag(api: Api) -> None:
    patient = _overdue(api, EPI, days=200)
    api.created(patient, epilepsy(patient, 0, ago(1), status="entered-in-error"))
    item = api.the_item(patient, EPI)
    assert "overdue" in kinds_of(item), item["reasons"]
    assert item["level"] == "yellow"
    api.created(patient, epilepsy(patient, 5, ago(0, 30)))
    item = api.the_item(patient, EPI)
    assert item["level"] == "red", item
    assert "overdue" not in kinds_of(item)


def test_the_overdue_flag_leaving_never_takes_a_red_reading_with_it(api: Api) -> None:
    patient = _overdue(api, COPD, days=30, min_oximeter_readings=0)
    api.created(patient, spo2(patient, 84, ago(2)))
    assert api.the_item(patient, COPD)["level"] == "red"
    api.created(patient, cat(patient, 1, ago(1)))  # the overdue CAT arrives, and is green
    item = api.the_item(patient, COPD)
    assert "overdue" not in kinds_of(item), item["reasons"]
    assert item["level"] == "red", item
    assert "low-oxygen" in rules_of(item)
