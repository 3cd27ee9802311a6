"""Loading a pathway file: YAML 1.2 with positions, every section checked, expressions compiled.

All problems in a file are collected before giving up, so staff fix them in one round;
:func:`load_pathway` raises :class:`~triage.problems.PathwayError` listing them all.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from triage.loading.context import FileContext
from triage.loading.data import read_applies_to, read_inputs, read_thresholds
from triage.loading.embedded_tests import raw_test_answers, read_tests
from triage.loading.logic import (
    answer_types,
    check_unique_names,
    read_derived,
    read_otherwise,
    read_rules,
    thresholds_types,
)
from triage.loading.schedule import read_schedule
from triage.model import Pathway
from triage.problems import PathwayError, Problem
from triage.yamlfile import load_yaml, node_pos, value_pos

__all__ = ["check_pathway_file", "load_pathway", "load_pathway_text"]

PATHWAY_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
TOP_KEYS = (
    "pathway",
    "title",
    "version",
    "owner",
    "description",
    "language",
    "applies_to",
    "schedule",
    "thresholds",
    "inputs",
    "derived",
    "rules",
    "otherwise",
    "tests",
)
LANGUAGES = ("nb", "nn", "en")


def load_pathway(path: str | Path) -> Pathway:
    """Load and check the pathway file at ``path``; raise ``PathwayError`` with every problem."""
    path = Path(path)
    return load_pathway_bytes(path.read_bytes(), str(path))


def load_pathway_bytes(data: bytes, file: str = "<pathway>") -> Pathway:
    """Load a pathway from the file's bytes (its SHA-256 is taken of exactly these bytes)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problem = Problem(file, 1, 1, "yaml-syntax", {"detail": f"not UTF-8 text ({exc.reason})"})
        raise PathwayError([problem]) from None
    return _build(text, file, hashlib.sha256(data).hexdigest())


def load_pathway_text(text: str, file: str = "<pathway>") -> Pathway:
    """Load a pathway from text (hashed as UTF-8)."""
    return _build(text, file, hashlib.sha256(text.encode("utf-8")).hexdigest())


def check_pathway_file(path: str | Path) -> list[Problem]:
    """Every problem in the file at ``path`` (an empty list when it is fine)."""
    try:
        load_pathway(path)
    except PathwayError as exc:
        return exc.problems
    return []


def _build(text: str, file: str, sha256: str) -> Pathway:
    ctx = FileContext(file, text)
    doc, problems = load_yaml(text, file)
    if problems:
        raise PathwayError(problems)
    doc = ctx.mapping(doc, "the file", node_pos(doc))
    if doc is None:
        raise PathwayError(ctx.problems)
    pathway = _read(ctx, doc, text, sha256)
    if ctx.problems or pathway is None:
        raise PathwayError(ctx.problems)
    return pathway


def _read(ctx: FileContext, doc: dict[Any, Any], text: str, sha256: str) -> Pathway | None:
    ctx.keys(doc, TOP_KEYS, "the file")
    pathway_id = _pathway_id(ctx, doc)
    title = (
        ctx.text(doc, "title", "title")
        if ctx.require(doc, "title", "the file", "title: Oppfølging etter hjerneslag")
        else None
    )
    version = _version(ctx, doc)
    language = _language(ctx, doc)
    questionnaires, routes = read_applies_to(ctx, doc)
    schedule = read_schedule(ctx, doc)
    thresholds = read_thresholds(ctx, doc)
    inputs = read_inputs(ctx, doc, routes)
    check_unique_names(ctx, doc)
    types = {**thresholds_types(thresholds), **answer_types(inputs, raw_test_answers(doc))}
    derived = read_derived(ctx, doc, types)
    rules = read_rules(ctx, doc, types)
    otherwise = read_otherwise(ctx, doc, types)
    tests = read_tests(ctx, doc, inputs, thresholds, routes.units, _rule_ids(doc))
    if pathway_id is None or title is None or version is None:
        return None
    return Pathway(
        id=pathway_id,
        title=title,
        version=version,
        sha256=sha256,
        source=ctx.file,
        owner=ctx.text(doc, "owner", "owner"),
        description=(ctx.text(doc, "description", "description") or "").strip() or None,
        language=language,
        questionnaires=questionnaires,
        routes=routes.routes,
        component_routes=routes.components,
        observation_units={name: unit for name, (unit, _) in routes.units.items()},
        schedule=schedule,
        thresholds=thresholds,
        inputs=inputs,
        derived=derived,
        rules=tuple(rules),
        otherwise=otherwise,
        tests=tuple(tests),
        types=types,
        text=text,
    )


def _rule_ids(doc: dict[Any, Any]) -> list[str]:
    """Every rule id written in the file, also of rules refused for another problem.

    A test naming a rule whose ``when`` has an error is not a second problem: the rule
    exists, and "there is no such rule" would send staff looking for the wrong thing.
    """
    rules = doc.get("rules")
    if not isinstance(rules, list):
        return []
    return [str(r["id"]) for r in rules if isinstance(r, dict) and r.get("id") is not None]


def _pathway_id(ctx: FileContext, doc: dict[Any, Any]) -> str | None:
    if not ctx.require(doc, "pathway", "the file", "pathway: heart-failure"):
        return None
    value = doc["pathway"]
    if not isinstance(value, str) or not PATHWAY_ID.match(value):
        ctx.problem(value_pos(doc, "pathway"), "bad-pathway-id", value=value)
        return None
    return value


def _version(ctx: FileContext, doc: dict[Any, Any]) -> int | None:
    if not ctx.require(doc, "version", "the file", "version: 1"):
        return None
    value = doc["version"]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        # Quote text, or `version: "3"` would be refused with "... not 3".
        shown = f'"{value}"' if isinstance(value, str) else value
        ctx.problem(value_pos(doc, "version"), "bad-version", value=shown)
        return None
    return value


def _language(ctx: FileContext, doc: dict[Any, Any]) -> str:
    value = doc.get("language", "nb")
    if value not in LANGUAGES:
        ctx.problem(
            value_pos(doc, "language"),
            "unknown-key",
            key=value,
            where="language",
            close=None,
            known=", ".join(LANGUAGES),
        )
        return "nb"
    return str(value)
