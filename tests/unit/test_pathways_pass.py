"""Every pathway file loads, and every test embedded in it passes, one pytest test each."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import pytest

import triage

REPO = Path(__file__).resolve().parents[2]
CONTRACT_PATHWAYS = (REPO / ".." / "shared" / "contract" / "pathways").resolve()
REPO_RULES = REPO / "rules"
FOLDERS = (CONTRACT_PATHWAYS, REPO_RULES)


def _files() -> list[Path]:
    return [f for folder in FOLDERS if folder.is_dir() for f in sorted(folder.glob("*.yaml"))]


def _label(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@functools.cache
def _outcomes(path: Path) -> dict[str, triage.TestOutcome]:
    pathway = triage.load_pathway(path)
    outcomes = triage.run_pathway_tests(pathway)
    return {_test_id(i, o.test.name): o for i, o in enumerate(outcomes)}


def _test_id(index: int, name: str) -> str:
    return f"{index + 1}-{name}"


def _cases() -> list[object]:
    cases: list[object] = []
    for path in _files():
        try:
            pathway = triage.load_pathway(path)
        except triage.PathwayError:
            # Reported by test_pathway_file_loads; keep one case so the file is not lost.
            cases.append(pytest.param(path, None, id=f"{_label(path)}::<does not load>"))
            continue
        for i, test in enumerate(pathway.tests):
            test_id = _test_id(i, test.name)
            cases.append(pytest.param(path, test_id, id=f"{_label(path)}::{test_id}"))
    return cases


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_pathway_folder_exists_and_has_files(folder: Path) -> None:
    assert folder.is_dir(), f"{folder} is missing"
    assert sorted(folder.glob("*.yaml")), f"{folder} has no pathway files"


@pytest.mark.parametrize("path", _files(), ids=_label)
def test_pathway_file_loads_and_has_embedded_tests(path: Path) -> None:
    try:
        pathway = triage.load_pathway(path)
    except triage.PathwayError as exc:
        pytest.fail(f"{_label(path)} does not load:\n{exc.format('en')}")
    assert pathway.tests, f"{_label(path)} has no embedded tests"
    assert pathway.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(("path", "test_id"), _cases())
def test_embedded_test_passes(path: Path, test_id: str | None) -> None:
    if test_id is None:
        pytest.fail(f"{_label(path)} does not load")
    outcome = _outcomes(path)[test_id]
    result = outcome.result
    detail = (
        f"expected {outcome.test.expect}, got {outcome.got}; fired {list(outcome.fired)}; "
        f"missing rules {list(outcome.missing_rules)}; problem {outcome.problem}; "
        f"reasons {[r.text for r in result.reasons] if result else []}"
    )
    assert outcome.passed, detail
