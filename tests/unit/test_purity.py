"""The engine stays pure: no web, database, queue or FHIR libraries, and a curated surface."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

import triage

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "triage"

FORBIDDEN = (
    "fastapi",
    "starlette",
    "sqlmodel",
    "sqlalchemy",
    "celery",
    "kombu",
    "redis",
    "fhir",  # fhir.resources
    "fhir_core",
)
# The project's own outer layers: importing them would pull the libraries above in.
OUTER_LAYERS = ("fhir_adapters", "api", "worker")

MODULE_FILES = sorted(PACKAGE.rglob("*.py"))


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):  # also imports inside functions and `if TYPE_CHECKING`
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_package_has_modules_to_scan() -> None:
    names = {p.relative_to(PACKAGE).as_posix() for p in MODULE_FILES}
    assert {"__init__.py", "engine.py", "windows.py", "expressions.py"} <= names


@pytest.mark.parametrize("path", MODULE_FILES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_module_source_imports_no_service_or_fhir_library(path: Path) -> None:
    bad = _imported_roots(path) & {*FORBIDDEN, *OUTER_LAYERS}
    assert not bad, f"{path.relative_to(REPO)} imports {sorted(bad)}"


def test_importing_every_triage_module_loads_no_service_or_fhir_library() -> None:
    script = f"""
import importlib, json, pkgutil, sys
import triage
names = ["triage"] + [m.name for m in pkgutil.walk_packages(triage.__path__, "triage.")]
for name in names:
    importlib.import_module(name)
forbidden = {list(FORBIDDEN + OUTER_LAYERS)!r}
loaded = sorted(m for m in sys.modules if m.split(".")[0] in forbidden)
print(json.dumps({{"imported": names, "loaded": loaded}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert "triage.engine" in report["imported"]
    assert "triage.loading.logic" in report["imported"]
    assert report["loaded"] == []


# -- the public surface ------------------------------------------------------------------


def test_all_names_exist_and_are_public() -> None:
    assert len(triage.__all__) == len(set(triage.__all__))
    for name in triage.__all__:
        assert not name.startswith("_"), name
        assert hasattr(triage, name), f"triage.__all__ names {name}, which does not exist"
        obj = getattr(triage, name)
        assert not isinstance(obj, types.ModuleType), f"{name} is a module"
        assert obj.__module__.startswith("triage."), f"{name} comes from {obj.__module__}"


def test_all_lists_every_public_object_of_the_package() -> None:
    public = {
        name
        for name, obj in vars(triage).items()
        if not name.startswith("_") and not isinstance(obj, types.ModuleType)
    }
    assert set(triage.__all__) == public


def test_the_documented_entry_points_are_public() -> None:
    expected = {
        "load_pathway",
        "load_pathway_text",
        "load_pathway_bytes",
        "evaluate",
        "run_pathway_tests",
        "Reading",
        "Measurement",
        "Result",
        "Level",
        "PathwayError",
        "ThresholdError",
        "UnitError",
        "DurationError",
    }
    assert expected <= set(triage.__all__)
    assert issubclass(triage.ThresholdError, ValueError)
    assert issubclass(triage.UnitError, ValueError)
    assert issubclass(triage.DurationError, ValueError)
