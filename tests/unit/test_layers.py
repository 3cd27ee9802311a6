"""The layers hold: import-linter keeps the contracts in pyproject.toml on this tree, and
breaks the build when someone adds an import that goes up a layer or closes a cycle.

The second and third tests copy the code to a temporary folder, add one wrong import and
run the same command `make test` runs there; the contract it breaks must be named."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "cli", "seeds", "api", "worker", "usecases", "messaging", "store", "fhir_adapters",
    "triage", "runtime",
)  # fmt: skip
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the code and its pyproject.toml, to break on purpose."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _add_line(path: Path, line: str) -> None:
    text = path.read_text(encoding="utf-8")
    head, sep, rest = text.partition("from __future__ import annotations\n")
    path.write_text(head + sep + line + "\n" + rest, encoding="utf-8")


def test_the_tree_keeps_every_layer_contract() -> None:
    done = _lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_a_table_module_that_imports_the_worker_breaks_the_build(tree: Path) -> None:
    _add_line(tree / "store" / "models.py", "import worker.tasks  # a back-edge")
    done = _lint(tree)
    assert done.returncode != 0
    assert "entry points > use cases" in done.stdout and "BROKEN" in done.stdout
    assert "store.models -> worker.tasks" in done.stdout


def test_the_pure_domain_importing_the_database_breaks_the_build(tree: Path) -> None:
    _add_line(tree / "triage" / "units.py", "import sqlalchemy  # the domain is pure")
    done = _lint(tree)
    assert done.returncode != 0
    assert "triage/ is pure" in done.stdout


def test_an_import_inside_a_function_still_counts_as_a_cycle(tree: Path) -> None:
    # usecases.periodic imports usecases.judging.job at the top; an import back from the
    # job, hidden in a function, closes a cycle between the two siblings.
    job = tree / "usecases" / "judging" / "job.py"
    job.write_text(
        job.read_text(encoding="utf-8")
        + "\n\ndef _hidden() -> None:\n    from usecases import periodic  # noqa: F401\n",
        encoding="utf-8",
    )
    done = _lint(tree)
    assert done.returncode != 0
    assert "no package's modules import each other in a cycle" in done.stdout
