"""The patient page's charts carry the pathway's thresholds for each reading (the patient's
own value when enrolled with one) and the weight change beside its limits, in words."""

from __future__ import annotations

import datetime as dt
import json
import re

from fastapi.testclient import TestClient

from store.db import session_scope
from store.models import Enrolment, Reading, Resource, new_id
from tests.integration.api_rows import add_patient, add_result
from tests.integration.web_helpers import signed_in

WEIGHT = "http://loinc.org|29463-7"
SPO2 = "http://loinc.org|59408-5"
PULSE = "http://loinc.org|8867-4"


def _heart_failure_patient(own: dict[str, float]) -> str:
    patient_id = add_patient("Hjerte Syntetisk")
    now = dt.datetime.now(dt.UTC)
    observation_id = new_id("obs")
    with session_scope() as session:
        session.add(
            Resource(
                id=observation_id,
                resource_type="Observation",
                patient_id=patient_id,
                body={"resourceType": "Observation"},
                data_time=now,
            )
        )
        session.add(Enrolment(patient_id=patient_id, pathway_id="heart-failure", thresholds=own))
        session.flush()
        values = [(WEIGHT, 82.0, 72), (WEIGHT, 82.9, 48), (WEIGHT, 83.6, 24), (WEIGHT, 84.3, 0)]
        for code, value, hours in [*values, (SPO2, 95, 1), (PULSE, 80, 1)]:
            session.add(
                Reading(
                    resource_id=observation_id,
                    patient_id=patient_id,
                    code=code,
                    value=value,
                    unit={WEIGHT: "kg", SPO2: "%", PULSE: "/min"}[code],
                    time=now - dt.timedelta(hours=hours),
                )
            )
    add_result(patient_id, "heart-failure", "red", created=now)
    return patient_id


def _charts(html: str) -> dict[str, dict]:
    block = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', html, re.S)
    assert block is not None
    return {c["name"]: c for c in json.loads(block.group(1))}


def test_each_chart_carries_its_thresholds_and_the_weight_change_its_limits(
    anonymous: TestClient,
) -> None:
    patient_id = _heart_failure_patient({"spo2_low": 92})
    signed_in(anonymous)
    page = anonymous.get(f"/app/patients/{patient_id}")
    assert page.status_code == 200, page.text
    charts = _charts(page.text)
    assert [(x["label"], x["value"], x["level"]) for x in charts["spo2"]["lines"]] == [
        ("spo2_low", 92.0, "red")  # the patient's own value, not the pathway's 90
    ]
    assert [(x["label"], x["value"]) for x in charts["pulse"]["lines"]] == [("pulse_high", 110.0)]
    assert charts["weight"]["lines"] == []
    assert charts["weight"]["change"]["value"] == 2.3
    text = re.sub(r"<[^>]+>", "", page.text)
    assert "Endring siste 3 dager: +2,3 kg (gult fra 1,0, rødt fra 2,0)" in text
    assert "Grenser: spo2_low 92,0 % (rød)" in text
    english = anonymous.get(f"/app/patients/{patient_id}?lang=en")
    assert "Change over the last 3 days: +2.3 kg (yellow from 1.0, red from 2.0)" in re.sub(
        r"<[^>]+>", "", english.text
    )


def test_a_reading_coded_several_ways_is_charted_by_any_of_its_codings(
    anonymous: TestClient,
) -> None:
    """A scale that sends SNOMED CT first and LOINC second: the chart finds it by the
    LOINC coding the pathway reads (stored in ``alt``), as triage does."""
    patient_id = _heart_failure_patient({})
    now = dt.datetime.now(dt.UTC)
    with session_scope() as session:
        observation_id = new_id("obs")
        session.add(
            Resource(
                id=observation_id,
                resource_type="Observation",
                patient_id=patient_id,
                body={"resourceType": "Observation"},
                data_time=now,
            )
        )
        session.flush()
        session.add(
            Reading(
                resource_id=observation_id,
                patient_id=patient_id,
                code="http://snomed.info/sct|27113001",
                value=190.0,
                unit="[lb_av]",
                time=now - dt.timedelta(minutes=30),
                alt={"codes": [WEIGHT], "panels": []},
            )
        )
        # A unit that cannot be weight is never drawn as if it were kilograms.
        session.add(
            Reading(
                resource_id=observation_id,
                patient_id=patient_id,
                code=WEIGHT,
                value=999.0,
                unit="mmol/L",
                time=now - dt.timedelta(minutes=20),
            )
        )
    signed_in(anonymous)
    charts = _charts(anonymous.get(f"/app/patients/{patient_id}").text)
    values = [p["v"] for p in charts["weight"]["points"]]
    assert values == [82.0, 82.9, 83.6, 86.183, 84.3], values  # 190 lb in kg; no 999
