"""The thresholds a chart draws are found from the pathway's rules, for any pathway."""

from __future__ import annotations

from pathlib import Path

import triage
from api.web.charts import reading_thresholds
from tests.unit.helpers import make_pathway

RULES = Path(__file__).resolve().parents[2] / "rules"


def heart_failure() -> triage.Pathway:
    return triage.load_pathway(RULES / "heart-failure.yaml")


def test_heart_failure_thresholds_per_reading() -> None:
    pathway = heart_failure()
    found = {
        name: [
            (t["name"], t["value"], t["form"], t["level"])
            for t in reading_thresholds(pathway, name)
        ]
        for name in ("spo2", "pulse", "systolic", "weight", "diastolic")
    }
    assert found["spo2"] == [("spo2_low", 90.0, "newest", "red")]
    assert found["pulse"] == [("pulse_high", 110.0, "newest", "yellow")]
    assert found["systolic"] == [("systolic_low", 90.0, "newest", "red")]
    assert found["weight"] == [
        ("gain_yellow", 1.0, "change", "yellow"),
        ("gain_red", 2.0, "change", "red"),
    ]
    assert found["diastolic"] == []  # no rule reads it


def test_the_patients_own_value_wins() -> None:
    found = reading_thresholds(heart_failure(), "spo2", {"spo2_low": 92})
    assert [(t["value"], t["own"]) for t in found] == [(92.0, True)]
    assert reading_thresholds(heart_failure(), "spo2", {"pulse_high": 120})[0]["value"] == 90.0


def test_any_pathway_any_names() -> None:
    """A made-up pathway: one threshold compared with two inputs, and rules of two levels."""
    pathway = make_pathway(
        """
thresholds:
  fever: {value: 38.5, min: 37.5, max: 40}
  hot: {value: 40, min: 39, max: 41}
inputs:
  temp_now: {observation: temperature}
  temp_max: {observation: temperature, max: P1D}
rules:
  - {id: feverish, when: temp_now >= fever, level: yellow}
  - {id: still-feverish, when: temp_max >= fever and temp_now >= fever, level: red}
  - {id: very-hot, when: temp_now > hot, level: red}
otherwise: {level: green}
"""
    )
    found = [
        (t["name"], t["input"], t["level"], t["rules"])
        for t in reading_thresholds(pathway, "temperature")
    ]
    assert found == [
        ("fever", "temp_max", "red", ["still-feverish"]),
        ("fever", "temp_now", "red", ["feverish", "still-feverish"]),
        ("hot", "temp_now", "red", ["very-hot"]),
    ]
    assert reading_thresholds(pathway, "weight") == []
