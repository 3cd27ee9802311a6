"""The replay's self-check on both databases: replaying the heart-failure file in force over
a history built through the API (each weight judged live by the worker's job) reproduces
every stored level and rule, with each patient's thresholds as they were then; where the
data changed after it was judged, the report names the upload and why."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi.testclient import TestClient

from runtime.settings import get_settings
from tests.integration import replay_helpers as h
from usecases.publishing import check
from usecases.replay import parse_period, replay
from usecases.replay.run import WITHDRAWN

OSLO = dt.timezone(dt.timedelta(hours=2))


def apr(day: float) -> dt.datetime:
    return dt.datetime(2025, 4, 1, 10, 0, tzinfo=OSLO) + dt.timedelta(days=day - 1)


def active_heart_failure() -> str:
    return (Path(get_settings().rules_dir) / "heart-failure.yaml").read_text(encoding="utf-8")


def test_replaying_the_active_version_reproduces_the_stored_levels_or_says_why(
    client: TestClient,
) -> None:
    # P: own gain_red 3.0 for the first three days, the defaults (2.0) after.
    p, _ = h.new_patient(client, "heart-failure", {"gain_red": 3.0})
    h.weight(client, p, 80.0, apr(1))
    h.weight(client, p, 81.5, apr(2))
    third = h.weight(client, p, 82.6, apr(3))  # +2.6 in 3 days: yellow under the own 3.0
    h.enrol(client, p, "heart-failure", {})
    h.weight(client, p, 82.7, apr(4))
    # Q: a weight dated before the others arrives after they were judged.
    q, _ = h.new_patient(client, "heart-failure")
    second = h.weight(client, q, 80.0, apr(2))
    fourth = h.weight(client, q, 80.5, apr(4))
    late = h.weight(client, q, 78.0, apr(1.1))
    # R: a red weight withdrawn after it was judged.
    r, _ = h.new_patient(client, "heart-failure")
    h.weight(client, r, 80.0, apr(1))
    red = h.weight(client, r, 83.0, apr(2))
    h.withdraw(client, r, red)

    period = parse_period(None, "2025-04-01", "2025-04-30", dt.datetime.now(dt.UTC))
    report = replay(check(active_heart_failure(), "heart-failure"), period).to_dict()

    assert report["uploads"] == 8  # P 4, Q 3, R 1: the withdrawn one is no longer data
    assert report["not_replayed"] == {
        "counts": {WITHDRAWN: 1},
        "uploads": [{"upload": f"Observation/{red['id']}", "patient": r, "why": WITHDRAWN}],
    }
    check_ = report["self_check"]
    assert (check_["compared"], check_["reproduced"]) == (8, 6)
    named = {m["upload"]: m for m in check_["not_reproduced"]}
    assert set(named) == {f"Observation/{second['id']}", f"Observation/{fourth['id']}"}
    for mismatch in named.values():
        assert mismatch["patient"] == q
        (why,) = mismatch["why"]
        assert why.startswith(f"Observation/{late['id']}, dated before this upload, arrived")
    # P's third weight stays yellow: the threshold it was judged with was the own 3.0.
    unchanged = report["matrix"]
    assert sum(unchanged[s][d] for s in unchanged for d in unchanged[s] if s != d) == 2
    assert f"Observation/{third['id']}" not in named
