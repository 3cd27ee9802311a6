"""The ``triage rules`` command, as clinic staff run it on their pathway files."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import main

CONTRACT = Path("/work/shared/contract/pathways")
TRIAGE = Path(sys.executable).parent / "triage"

GOOD = """\
pathway: demo
title: Demo
version: 2
applies_to:
  questionnaires: [http://example.no/fhir/Questionnaire/demo]
  observations:
    - {code: "http://loinc.org|29463-7", as: weight, unit: kg}
thresholds:
  seizures_red: {value: 3, min: 1, max: 30}
  gain_red: {value: 2, min: 1, max: 5}
inputs:
  seizures: {answer: seizure-count, type: number}
  wants_contact: {answer: wants-contact, type: boolean}
  gain: {observation: weight, change: P3D}
rules:
  - id: many-seizures
    when: seizures >= seizures_red
    level: red
    say: "{seizures} anfall"
    patient_message: Vi ringer deg innen to uker.
  - id: weight-gain
    when: gain >= gain_red
    level: red
    say: "{gain} kg på tre dager"
  - id: wants-contact
    when: wants_contact
    level: yellow
otherwise:
  level: green
  patient_message: Ingen kontroll nå.
tests:
  - name: rolig
    answers: {seizure-count: 0, wants-contact: false}
    expect: green
  - name: mange anfall
    answers: {seizure-count: 5, wants-contact: false}
    expect: red
    expect_rules: [many-seizures]
"""
BROKEN = GOOD.replace("    level: yellow\n", "    level: orange\n").replace(
    "seizures >= seizures_red", "seizures >= seizure_red"
)
WRONG_EXPECTATION = GOOD.replace("    expect: red\n", "    expect: yellow\n")
NOW = "2026-11-20T09:00:00+01:00"
PROBLEM_LINE = re.compile(r"^(?P<file>.+\.yaml):(?P<line>\d+):(?P<col>\d+): (?P<message>.+)$")


@pytest.fixture(autouse=True)
def _english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAGE_LANG", "en")


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def line_of(text: str, fragment: str) -> int:
    assert text.count(fragment) == 1
    return text[: text.index(fragment)].count("\n") + 1


def explain(capsys: pytest.CaptureFixture[str], file: str, *options: str) -> tuple[int, str]:
    """Run ``rules explain`` at a fixed time; the exit code and stdout."""
    code = main(["rules", "explain", file, "--now", NOW, *options])
    return code, capsys.readouterr().out


# -- rules check -------------------------------------------------------------------


def test_check_refuses_a_broken_file_with_file_line_col(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path, "broken.yaml", BROKEN)
    assert main(["rules", "check", file]) != 0
    out = capsys.readouterr()
    assert "OK" not in out.out
    problems = [PROBLEM_LINE.match(line) for line in out.err.splitlines()]
    assert all(problems), out.err
    assert [(m["file"], int(m["line"])) for m in problems if m] == [
        (file, line_of(BROKEN, "seizure_red\n")),
        (file, line_of(BROKEN, "orange")),
    ]
    assert "did you mean 'seizures_red'?" in out.err
    assert "unknown level 'orange'" in out.err


def test_check_says_ok_for_a_good_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = write(tmp_path, "good.yaml", GOOD)
    assert main(["rules", "check", file]) == 0
    out = capsys.readouterr()
    assert out.err == ""
    assert out.out.strip() == (f"{file}: OK  demo version 2: 3 inputs, 3 rules, 2 tests")


def test_check_several_files_reports_each_and_fails_if_any_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path, "good.yaml", GOOD)
    bad = write(tmp_path, "broken.yaml", BROKEN)
    also_good = write(tmp_path, "also.yaml", GOOD.replace("pathway: demo", "pathway: demo-2"))
    assert main(["rules", "check", good, bad, also_good]) == 1
    out = capsys.readouterr()
    assert [line.split(":")[0] for line in out.out.splitlines()] == [good, also_good]
    assert {line.split(":")[0] for line in out.err.splitlines()} == {bad}


def test_check_a_missing_file_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "nope.yaml")
    assert main(["rules", "check", missing]) == 1
    assert missing in capsys.readouterr().err


def test_check_in_norwegian(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = write(tmp_path, "broken.yaml", BROKEN)
    assert main(["--lang", "nb", "rules", "check", file]) == 1
    err = capsys.readouterr().err
    assert "ukjent nivå 'orange'; bruk red, yellow eller green" in err
    assert "mente du 'seizures_red'?" in err
    assert "unknown" not in err


def test_check_every_contract_pathway(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(str(p) for p in CONTRACT.glob("*.yaml"))
    assert len(files) >= 4
    assert main(["rules", "check", *files]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(files)


# -- rules test --------------------------------------------------------------------


def test_test_prints_a_table_of_expected_and_got(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path, "good.yaml", GOOD)
    assert main(["rules", "test", file]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{file} (demo version 2)"
    assert lines[1].split() == ["test", "expected", "got", "fired", "rules"]
    assert lines[3].split() == ["ok", "rolig", "green", "green", "-"]
    assert lines[4].split() == ["ok", "mange", "anfall", "red", "red", "many-seizures"]
    assert "2 passed, 0 failed" in lines


def test_test_fails_when_an_embedded_test_expects_the_wrong_level(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path, "wrong.yaml", WRONG_EXPECTATION)
    assert main(["rules", "test", file]) != 0
    out = capsys.readouterr().out
    failing = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert [line.split() for line in failing] == [
        ["FAIL", "mange", "anfall", "yellow", "red", "many-seizures"]
    ]
    assert "1 passed, 1 failed" in out


def test_test_reports_a_rule_that_did_not_fire(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = GOOD.replace("expect_rules: [many-seizures]", "expect_rules: [wants-contact]")
    assert main(["rules", "test", write(tmp_path, "x.yaml", text)]) == 1
    assert "did not fire: wants-contact" in capsys.readouterr().out


def test_test_passes_on_every_contract_pathway(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(str(p) for p in CONTRACT.glob("*.yaml"))
    assert main(["rules", "test", *files]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out
    assert out.count(" passed, 0 failed") == len(files)


def test_test_of_a_broken_file_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "test", write(tmp_path, "broken.yaml", BROKEN)]) == 1
    assert "unknown level 'orange'" in capsys.readouterr().err


# -- rules explain -----------------------------------------------------------------


def test_explain_shows_inputs_rules_result_and_patient_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path, "good.yaml", GOOD)
    answers = json.dumps({"seizure-count": 4, "wants-contact": False})
    code, out = explain(capsys, file, "--answers", answers)
    assert code == 0
    assert "Result: ■ RED" in out
    assert "[red] many-seizures: 4 anfall" in out
    assert "Message to the patient: Vi ringer deg innen to uker." in out
    assert re.search(r"^\s+seizures\s+= 4\s+from answer seizure-count$", out, re.M)
    assert re.search(r"^\s+wants_contact\s+= nei\s+from answer wants-contact$", out, re.M)
    assert re.search(r"^\s+gain\s+= \(missing\)", out, re.M)
    assert re.search(r"^\s+FIRED\s+red\s+many-seizures\s", out, re.M)
    # No weight readings: the rule on them is undecided (it neither fired nor held false).
    assert re.search(r"^\s+UNDECIDED\s+red\s+weight-gain\s.*missing: gain$", out, re.M)
    assert "\nUndecided (did not fire):\n  - [red] weight-gain lacks gain\n" in out
    assert re.search(r"^\s+not fired\s+yellow\s+wants-contact\s", out, re.M)


def test_explain_green_shows_the_otherwise_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path, "good.yaml", GOOD)
    answers = json.dumps({"seizure-count": 0, "wants-contact": False})
    code, out = explain(capsys, file, "--answers", answers)
    assert code == 0
    assert "Result: ● GREEN" in out
    assert "Message to the patient: Ingen kontroll nå." in out


def test_explain_observations_as_hourly_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path, "good.yaml", GOOD)
    code, out = explain(capsys, file, "--observations", '{"weight": [80, 81, 83]}')
    assert code == 0
    assert re.search(r"^\s+gain\s+= 3\s", out, re.M)
    assert "[red] weight-gain: 3 kg på tre dager" in out


def test_explain_observations_with_times(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The reading from 1 Nov is outside the 3-day window that ends at the newest one.
    file = write(tmp_path, "good.yaml", GOOD)
    readings = {
        "weight": [
            {"value": 70, "at": "2026-11-01T08:00:00+01:00"},
            {"value": 80, "at": "2026-11-18T08:00:00+01:00"},
            {"value": 81.5, "at": "2026-11-20T08:00:00+01:00"},
        ]
    }
    code, out = explain(capsys, file, "--observations", json.dumps(readings))
    assert code == 0
    assert re.search(r"^\s+gain\s+= 1,5\s", out, re.M)
    assert "Result: ● GREEN" in out


def test_explain_refuses_a_patient_threshold_outside_its_bounds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path, "good.yaml", GOOD)
    with pytest.raises(SystemExit) as stopped:
        explain(capsys, file, "--thresholds", '{"seizures_red": 99}')
    message = str(stopped.value.code)
    assert message.startswith("--thresholds:")
    assert "seizures_red" in message and "99" in message and "1..30" in message


def test_explain_uses_a_patient_threshold_inside_its_bounds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path, "good.yaml", GOOD)
    answers = json.dumps({"seizure-count": 4, "wants-contact": False})
    code, out = explain(capsys, file, "--answers", answers, "--thresholds", '{"seizures_red": 5}')
    assert code == 0
    assert "Result: ● GREEN" in out
    assert re.search(r"seizures_red\s+= 5 \(min 1, max 30\)\s+<- this patient's own value", out)


def test_explain_refuses_an_observation_the_pathway_does_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path, "good.yaml", GOOD)
    with pytest.raises(SystemExit) as stopped:
        explain(capsys, file, "--observations", '{"pulse": [80]}')
    assert "pulse" in str(stopped.value.code) and "weight" in str(stopped.value.code)


def test_explain_refuses_answers_that_are_not_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path, "good.yaml", GOOD)
    with pytest.raises(SystemExit) as stopped:
        explain(capsys, file, "--answers", "{seizure-count: 4}")
    assert str(stopped.value.code).startswith("--answers: not valid JSON")


def test_explain_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = write(tmp_path, "good.yaml", GOOD)
    answers = json.dumps({"seizure-count": 4, "wants-contact": True})
    code, out = explain(capsys, file, "--answers", answers, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["level"] == "red"
    assert [(r["rule"], r["level"]) for r in data["reasons"]] == [
        ("many-seizures", "red"),
        ("wants-contact", "yellow"),
    ]
    assert data["ruleset"] == {
        "pathway": "demo",
        "version": 2,
        "sha256": hashlib.sha256(Path(file).read_bytes()).hexdigest(),
    }
    assert data["patient_message"] == "Vi ringer deg innen to uker."
    assert {r["id"]: r["status"] for r in data["rules"]} == {
        "many-seizures": "fired",
        "weight-gain": "undecided",
        "wants-contact": "fired",
    }
    [gain] = [r for r in data["rules"] if r["id"] == "weight-gain"]
    assert gain["lacking"] == ["gain"]
    assert data["undecided"] == [
        {
            "rule": "weight-gain",
            "level": "red",
            "lacking": ["gain"],
            "text": "Ikke avgjort: weight-gain mangler gain",
        }
    ]


def test_explain_of_a_broken_file_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "explain", write(tmp_path, "broken.yaml", BROKEN)]) == 1
    assert "unknown level 'orange'" in capsys.readouterr().err


# -- the installed command ---------------------------------------------------------


def test_installed_console_script(tmp_path: Path) -> None:
    good = write(tmp_path, "good.yaml", GOOD)
    bad = write(tmp_path, "broken.yaml", BROKEN)
    env = {**os.environ, "TRIAGE_LANG": "en"}
    ok = subprocess.run(
        [str(TRIAGE), "rules", "check", good], capture_output=True, text=True, env=env, check=False
    )
    assert (ok.returncode, ok.stdout.startswith(f"{good}: OK")) == (0, True), ok.stderr
    refused = subprocess.run(
        [str(TRIAGE), "rules", "check", bad], capture_output=True, text=True, env=env, check=False
    )
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"{bad}:{line_of(BROKEN, 'seizure_red')}:")
