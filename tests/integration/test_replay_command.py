"""``triage rules replay`` against the configured database (both backends): the text report
by default, the same figures as JSON with ``--json``, exit 1 with line numbers for a broken
draft, exit 2 for a period it cannot read, and no progress bar when stderr is no terminal."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cli.main import main
from runtime.settings import get_settings
from tests.integration import replay_helpers as h

OSLO = dt.timezone(dt.timedelta(hours=1))
PERIOD = ["--from", "2025-05-01", "--to", "2025-05-31"]


def draft(tmp_path: Path, red: int) -> str:
    text = (Path(get_settings().rules_dir) / "epilepsy.yaml").read_text(encoding="utf-8")
    text = text.replace("seizures_red: {value: 3,", f"seizures_red: {{value: {red},")
    path = tmp_path / "epilepsy-draft.yaml"
    path.write_text(h.next_version(text), encoding="utf-8")
    return str(path)


def test_the_command_prints_the_report_as_text_or_json(
    client: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pid, fnr = h.new_patient(client, "epilepsy")
    h.seizures(client, pid, 2, dt.datetime(2025, 5, 6, 9, tzinfo=OSLO))
    file = draft(tmp_path, 2)

    assert main(["rules", "replay", file, *PERIOD, "--json"]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["uploads"] == 1 and report["matrix"]["yellow"]["red"] == 1
    assert err == ""  # not a terminal: no progress bar

    assert main(["rules", "replay", file, *PERIOD]) == 0
    text = capsys.readouterr().out
    assert "Uploads replayed: 1, changed level: 1" in text
    assert "Examples yellow->red:" in text
    assert f"{fnr[:6]}*****" in text and fnr not in text
    assert "many-seizures" in text


def test_a_broken_draft_exits_1_with_its_lines_and_a_bad_period_2(
    service: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    text = Path(draft(tmp_path, 2)).read_text(encoding="utf-8")
    broken_text = text.replace("seizures >= seizures_red", "seizures >= nothing")
    broken.write_text(broken_text)
    line = broken_text[: broken_text.index("seizures >= nothing")].count("\n") + 1
    assert main(["rules", "replay", str(broken), *PERIOD]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{broken}:") and f":{line}:23: unknown name 'nothing'" in err, err
    assert main(["rules", "replay", draft(tmp_path, 2), "--since", "ninety days"]) == 2
    assert "since" in capsys.readouterr().err
