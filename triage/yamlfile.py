"""Reading a pathway file as YAML 1.2 with line and column numbers kept.

ruamel.yaml reads YAML 1.2, where ``NO`` (Norway) and ``yes`` stay text, and its
round-trip loader remembers where every key and value stood, which is what lets each
problem name its line. The round-trip loader builds plain mappings, lists and scalars
only (no Python objects), so it is as safe as ``yaml.safe_load``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from triage.problems import Problem

__all__ = [
    "CommentedMap",
    "CommentedSeq",
    "item_pos",
    "key_pos",
    "kind_of",
    "load_yaml",
    "node_pos",
    "value_pos",
]


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml


def load_yaml(text: str, file: str) -> tuple[Any, list[Problem]]:
    """Parse ``text``; return the document, or ``None`` and the problems that stopped it."""
    try:
        return _yaml().load(text), []
    except DuplicateKeyError as exc:
        mark = exc.problem_mark
        key = _duplicate_key_name(exc)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return None, [Problem(file, line, col, "yaml-duplicate-key", {"key": key})]
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        detail = " ".join(part for part in (exc.context, exc.problem) if part) or "unreadable"
        return None, [Problem(file, line, col, "yaml-syntax", {"detail": detail})]
    except YAMLError as exc:
        return None, [Problem(file, 1, 1, "yaml-syntax", {"detail": str(exc).splitlines()[0]})]


def _duplicate_key_name(exc: DuplicateKeyError) -> str:
    # ruamel words it: 'found duplicate key "x" with value ...'
    problem = exc.problem or ""
    if '"' in problem:
        return problem.split('"')[1]
    return problem


def node_pos(node: Any, default: tuple[int, int] = (1, 1)) -> tuple[int, int]:
    """1-based (line, column) where a mapping or list starts."""
    lc = getattr(node, "lc", None)
    if lc is None or lc.line is None:
        return default
    return lc.line + 1, lc.col + 1


def key_pos(mapping: Any, key: Any) -> tuple[int, int]:
    """1-based (line, column) of ``key`` in ``mapping``; the mapping's own start if unknown."""
    try:
        line, col = mapping.lc.key(key)
        return line + 1, col + 1
    except (AttributeError, KeyError, TypeError):
        return node_pos(mapping)


def value_pos(mapping: Any, key: Any) -> tuple[int, int]:
    """1-based (line, column) of the value stored under ``key``."""
    try:
        line, col = mapping.lc.value(key)
        return line + 1, col + 1
    except (AttributeError, KeyError, TypeError):
        return key_pos(mapping, key)


def item_pos(seq: Any, index: int) -> tuple[int, int]:
    """1-based (line, column) of item ``index`` of a list."""
    try:
        line, col = seq.lc.item(index)
        return line + 1, col + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return node_pos(seq)


def kind_of(value: Any) -> str:
    """What a YAML value is, as a key of :data:`triage.problems.KIND_WORDS`."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dt.date):
        return "date"
    return "text"
