"""Per-patient thresholds (used inside the pathway's bounds, refused outside them) and what a
result records to trace it: the pathway version, the file's sha256, the values it saw."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

import pytest
from helpers import NOW, make_pathway, pathway_text, reason_texts
from seizures_pathway import SEIZURES, run

import triage
from triage import Level

# -- per-patient thresholds --------------------------------------------------------------


def test_patient_threshold_inside_bounds_is_used_and_recorded() -> None:
    default = run({"seizure-count": 2})
    assert "many-seizures" not in default.fired
    assert default.thresholds["seizures_red"] == 3
    assert default.patient_thresholds == ()

    own = run({"seizure-count": 2}, thresholds={"seizures_red": 2})
    assert own.level == Level.RED
    assert "many-seizures" in own.fired
    assert own.thresholds["seizures_red"] == 2
    assert own.thresholds["seizures_yellow"] == 1
    assert own.patient_thresholds == ("seizures_red",)
    assert reason_texts(own)[0] == "2 anfall (grense 2)"


@pytest.mark.parametrize("value", [1, 30, Decimal("37.5"), 39.5])
def test_patient_threshold_on_the_bounds_is_allowed(value: float) -> None:
    name = "seizures_red" if value in (1, 30) else "temp_limit"
    result = run({"seizure-count": 0}, thresholds={name: value})
    assert result.thresholds[name] == Decimal(str(value))


@pytest.mark.parametrize(
    ("thresholds", "words"),
    [
        ({"seizures_red": 31}, "outside"),
        ({"seizures_red": 0.5}, "outside"),
        ({"temp_limit": 37.4}, "outside"),
        ({"no_such_threshold": 2}, "not a threshold"),
        ({"seizures_yellow": 2}, "no min/max"),
        ({"seizures_red": "2"}, "number"),
        ({"seizures_red": True}, "number"),
        ({"seizures_red": float("nan")}, "finite"),
    ],
)
def test_patient_thresholds_the_pathway_does_not_allow_are_refused(
    thresholds: dict[str, object], words: str
) -> None:
    with pytest.raises(triage.ThresholdError) as caught:
        run({"seizure-count": 0}, thresholds=thresholds)
    assert isinstance(caught.value, ValueError)
    assert words in str(caught.value)
    assert next(iter(thresholds)) in str(caught.value)


# -- tracing -----------------------------------------------------------------------------


def test_result_records_pathway_version_and_sha256_of_the_file_bytes(tmp_path: Path) -> None:
    # A byte order mark and Windows line endings: the hash is of the bytes as stored.
    data = b"\xef\xbb\xbf" + pathway_text(SEIZURES, version=7).replace("\n", "\r\n").encode()
    path = tmp_path / "epilepsy.yaml"
    path.write_bytes(data)
    pathway = triage.load_pathway(path)
    result = triage.evaluate(pathway, answers={"seizure-count": 0}, now=NOW)
    assert result.pathway == "test"
    assert result.version == 7
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    record = result.to_dict()["ruleset"]
    assert record == {"pathway": "test", "version": 7, "sha256": hashlib.sha256(data).hexdigest()}


def test_changing_a_threshold_in_the_file_changes_the_recorded_sha256() -> None:
    changed = make_pathway(SEIZURES.replace("value: 3, min: 1", "value: 4, min: 1"))
    assert (
        run({"seizure-count": 0}).sha256
        != triage.evaluate(changed, answers={"seizure-count": 0}, now=NOW).sha256
    )


def test_to_dict_is_json_with_thresholds_and_input_values_seen() -> None:
    result = run(
        {"seizure-count": 4, "wants-contact": True, "temperature": 37.2},
        thresholds={"temp_limit": 38.5},
    )
    record = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert record["level"] == "red"
    assert record["thresholds"] == {"seizures_red": 3, "seizures_yellow": 1, "temp_limit": 38.5}
    assert record["patient_thresholds"] == ["temp_limit"]
    assert record["inputs"] == {
        "seizures": 4,
        "wants_contact": True,
        "temp": 37.2,
        "ratio": None,
    }
    assert record["action"] == {"consultation": "phone", "within": "P14D"}
    assert record["fired"][0] == "many-seizures"
    assert record["reasons"][0]["level"] == "red"
    assert record["evaluated_at"] == NOW.isoformat()
