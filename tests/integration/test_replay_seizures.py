"""Replay by hand: epilepsy's ``seizures_red`` lowered from 3 to 2 on a history built through
the API (tests/integration/replay_helpers.py), on both databases.

Nine forms in February 2025 (28 days), no side effects, no new seizure type, no wish for
contact; so only the seizure count decides (red at ``seizures_red``, yellow from 1):

=========  =====================  ==========================  ===============  ===============
patient    enrolment              seizures (Feb day)          stored (red 3)   draft (red 2)
=========  =====================  ==========================  ===============  ===============
A          defaults               0 (3), 2 (4), 3 (5), 1 (6)  G  Y  R  Y       G  R  R  Y
B          defaults               2 (7), 2 (8)                Y  Y             R  R
C          own seizures_red 4     2 (9), 3 (10)               Y  Y             Y  Y
D          not enrolled           2 (11)                      Y                R
=========  =====================  ==========================  ===============  ===============

C keeps their own threshold (4), which the draft's default does not touch; D is judged with
the defaults (not enrolled). So exactly four uploads move yellow -> red (A's 2, both of B's,
D's): matrix red->red 1, yellow->red 4, yellow->yellow 3, green->green 1.

- red per 100 uploads 11.11 -> 55.56, yellow 77.78 -> 33.33; per day 1/28 -> 5/28.
- rules fired: ``many-seizures`` 1 -> 5; ``some-seizures`` (seizures >= 1) 8 -> 8.
- items (none resolved): before, A opens yellow then is raised to red, B, C, D open
  yellow: red 0, yellow 4, raised 1. After: A, B, D open red, C yellow: 3, 1, 0.
- clinicians overrode B's item to red and C's to green: four results landed on overridden
  items; the draft agrees on B's two, the stored levels on none.
- B and D would have had a red and had none: both listed, A not (A had one).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi.testclient import TestClient

from runtime.settings import get_settings
from tests.integration import replay_helpers as h
from usecases.publishing import check
from usecases.replay import parse_period, replay

OSLO = dt.timezone(dt.timedelta(hours=1))


def feb(day: int) -> dt.datetime:
    return dt.datetime(2025, 2, day, 10, 0, tzinfo=OSLO)


def draft_text(red: int) -> str:
    text = (Path(get_settings().rules_dir) / "epilepsy.yaml").read_text(encoding="utf-8")
    text = text.replace("seizures_red: {value: 3,", f"seizures_red: {{value: {red},")
    return h.next_version(text)


def test_lowering_seizures_red_to_2_moves_exactly_the_expected_uploads_to_red(
    client: TestClient,
) -> None:
    a, a_id = h.new_patient(client, "epilepsy")
    b, b_id = h.new_patient(client, "epilepsy")
    c, _ = h.new_patient(client, "epilepsy", {"seizures_red": 4})
    d, d_id = h.new_patient(client)
    sent = {}
    for pid, counts in ((a, [(0, 3), (2, 4), (3, 5), (1, 6)]), (b, [(2, 7), (2, 8)])):
        for count, day in counts:
            sent[(pid, day)] = h.seizures(client, pid, count, feb(day))
    for count, day in ((2, 9), (3, 10)):
        sent[(c, day)] = h.seizures(client, c, count, feb(day))
    sent[(d, 11)] = h.seizures(client, d, 2, feb(11))
    h.override(client, b, "epilepsy", "red")
    h.override(client, c, "epilepsy", "green")

    period = parse_period(None, "2025-02-01", "2025-02-28", dt.datetime.now(dt.UTC))
    report = replay(check(draft_text(2), "epilepsy"), period).to_dict()

    assert report["uploads"] == 9
    assert report["matrix"] == {
        "red": {"red": 1, "yellow": 0, "green": 0},
        "yellow": {"red": 4, "yellow": 3, "green": 0},
        "green": {"red": 0, "yellow": 0, "green": 1},
    }
    assert report["changed"] == 4
    assert report["rates"]["before"] == {
        "red_per_100_uploads": 11.11,
        "yellow_per_100_uploads": 77.78,
        "red_per_day": round(1 / 28, 3),
        "yellow_per_day": 0.25,
    }
    assert report["rates"]["after"] == {
        "red_per_100_uploads": 55.56,
        "yellow_per_100_uploads": 33.33,
        "red_per_day": round(5 / 28, 3),
        "yellow_per_day": round(3 / 28, 3),
    }
    assert report["fired"] == {
        "many-seizures": {"before": 1, "after": 5},
        "some-seizures": {"before": 8, "after": 8},
    }
    assert report["items_opened"] == {
        "before": {"red": 0, "yellow": 4, "raised_to_red": 1},
        "after": {"red": 3, "yellow": 1, "raised_to_red": 0},
    }
    assert report["clinicians"] == {"overridden": 4, "draft_agrees": 2, "stored_agrees": 0}

    examples = report["examples"]
    assert list(examples) == ["yellow->red"]
    moved = {(e["patient"], e["upload"]) for e in examples["yellow->red"]}
    assert moved == {
        (pid, f"QuestionnaireResponse/{sent[(pid, day)]}")
        for pid, day in ((a, 4), (b, 7), (b, 8), (d, 11))
    }
    first = next(e for e in examples["yellow->red"] if e["patient"] == a)
    assert first["national_id"] == a_id[:6] + "*****"
    assert first["inputs"]["seizures"] == 2
    assert first["rules_changed"] == {"started": ["many-seizures"], "stopped": []}
    assert dt.datetime.fromisoformat(first["as_of"]) == feb(4)

    new_red = {p["patient"]: p for p in report["new_red_patients"]}
    assert set(new_red) == {b, d}
    assert (new_red[b]["national_id"], new_red[b]["red_uploads"]) == (b_id[:6] + "*****", 2)
    assert (new_red[d]["national_id"], new_red[d]["red_uploads"]) == (d_id[:6] + "*****", 1)

    # The draft is not the version that made these results: nothing to self-check.
    assert report["self_check"] == {"compared": 0, "reproduced": 0, "not_reproduced": []}


def test_replaying_the_active_epilepsy_file_changes_nothing(client: TestClient) -> None:
    pid, _ = h.new_patient(client, "epilepsy", {"seizures_red": 5})
    for count, day in ((4, 14), (5, 15), (0, 16)):
        h.seizures(client, pid, count, feb(day).replace(month=3))
    period = parse_period(None, "2025-03-14", "2025-03-16", dt.datetime.now(dt.UTC))
    active = (Path(get_settings().rules_dir) / "epilepsy.yaml").read_text(encoding="utf-8")
    report = replay(check(active, "epilepsy"), period).to_dict()
    assert report["uploads"] == 3
    assert report["matrix"]["yellow"]["yellow"] == 1  # 4 < the patient's own 5
    assert report["matrix"]["red"]["red"] == 1
    assert report["changed"] == 0 and report["examples"] == {}
    assert report["self_check"] == {"compared": 3, "reproduced": 3, "not_reproduced": []}
