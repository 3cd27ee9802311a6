"""The documents point at tests that exist: SECURITY.md promises each defence is proven by a
named test, and a renamed or deleted test must not leave that promise pointing at nothing."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))
DOCUMENTS = ["SECURITY.md", "README.md", "BENCHMARKS.md", *DOCS]
# A test file, then any number of ``::name`` (a test in it), with or without a space or comma.
REFERENCE = re.compile(r"(tests/[\w/]+\.py)((?:[\s,(]*::\w+)*)")


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def _references(document: Path) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    for match in REFERENCE.finditer(document.read_text(encoding="utf-8")):
        names = re.findall(r"::(\w+)", match.group(2))
        found.extend((match.group(1), name) for name in names or [None])
    return found


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_test_a_document_names_exists(document: str) -> None:
    missing = []
    for file, name in _references(ROOT / document):
        path = ROOT / file
        if not path.is_file():
            missing.append(file)
        elif name is not None and name not in _tests_in(path):
            missing.append(f"{file}::{name}")
    assert not missing, f"{document} names tests that do not exist: {missing}"


def test_the_references_are_read() -> None:
    names = [name for _, name in _references(ROOT / "SECURITY.md") if name]
    assert len(names) >= 40, names
    assert "test_an_answer_given_twice_is_refused_not_read_as_its_last_value" in names
    assert "test_limits_apply_again_when_redis_answers_again" in names  # after ", ::"


def test_security_md_names_a_test_for_every_defence() -> None:
    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    defences = rows[1:]  # the header row first
    assert len(defences) >= 20
    for row in defences:
        proof = row.rstrip(" |").rsplit(" | ", 1)[-1]
        assert REFERENCE.search(proof), f"a defence without a test: {row[:80]}"
