"""What every section reader shares: the file, the problems found so far, positions."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from triage.durations import Duration, DurationError, parse_duration
from triage.expressions import RESERVED_WORDS
from triage.levels import CONSULTATION_NAMES, LEVEL_NAMES, Consultation, Level
from triage.model import Action
from triage.problems import Problem
from triage.yamlfile import key_pos, kind_of, node_pos, value_pos

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
Pos = tuple[int, int]


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name most like ``name``, for "did you mean ...?"."""
    matches = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return matches[0] if matches else None


def example_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_").lower() or "value"
    return cleaned if cleaned[0].isalpha() else f"v_{cleaned}"


class FileContext:
    """The file being read and the problems found in it."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.lines = text.splitlines()
        self.problems: list[Problem] = []

    def problem(self, pos: Pos, code: str, /, **params: Any) -> None:
        self.problems.append(Problem(self.file, pos[0], pos[1], code, params))

    # -- shape checks -------------------------------------------------------------
    def mapping(self, node: Any, where: str, pos: Pos) -> dict[Any, Any] | None:
        if isinstance(node, dict):
            return node
        self.problem(pos, "not-a-mapping", where=where, got=kind_of(node))
        return None

    def seq(self, node: Any, where: str, pos: Pos) -> list[Any] | None:
        if isinstance(node, list):
            return node
        self.problem(pos, "not-a-list", where=where, got=kind_of(node))
        return None

    def keys(self, node: dict[Any, Any], allowed: Iterable[str], where: str) -> None:
        allowed = list(allowed)
        for key in node:
            if key not in allowed:
                self.problem(
                    key_pos(node, key),
                    "unknown-key",
                    key=key,
                    where=where,
                    close=closest(str(key), allowed),
                    known=", ".join(allowed),
                )

    def require(self, node: dict[Any, Any], key: str, where: str, example: str) -> bool:
        if key in node and node[key] is not None:
            return True
        pos = key_pos(node, key) if key in node else node_pos(node)
        self.problem(pos, "missing-key", key=key, where=where, example=example)
        return False

    def text(self, node: dict[Any, Any], key: str, where: str) -> str | None:
        value = node.get(key)
        if value is None:
            return None
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return str(value)
        self.problem(value_pos(node, key), "not-text", where=where, got=kind_of(value))
        return None

    def number(self, node: Any, key: str, where: str) -> Decimal | None:
        value = node.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return Decimal(repr(float(value))) if isinstance(value, float) else Decimal(value)
        self.problem(value_pos(node, key), "not-a-number", where=where, got=kind_of(value))
        return None

    def boolean(self, node: dict[Any, Any], key: str, where: str) -> bool:
        value = node.get(key, False)
        if isinstance(value, bool):
            return value
        self.problem(value_pos(node, key), "not-boolean", where=where, got=kind_of(value))
        return False

    def duration(self, node: dict[Any, Any], key: str) -> Duration | None:
        value = node.get(key)
        try:
            return parse_duration(value)  # refuses anything that is not duration text
        except DurationError as exc:
            self.problem(value_pos(node, key), "bad-duration", detail=str(exc), value=value)
            return None

    def level(self, node: dict[Any, Any], key: str) -> Level | None:
        value = node.get(key)
        try:
            return Level.parse(value)
        except ValueError:
            self.problem(
                value_pos(node, key),
                "unknown-level",
                value=value,
                close=closest(str(value).lower(), LEVEL_NAMES),
            )
            return None

    def name_ok(self, name: Any, pos: Pos) -> bool:
        if not isinstance(name, str) or not NAME_RE.match(name):
            self.problem(pos, "bad-name", name=name, example=example_name(str(name)))
            return False
        if name in RESERVED_WORDS:
            self.problem(pos, "reserved-name", name=name)
            return False
        return True

    def action(self, node: dict[Any, Any], key: str, where: str) -> Action | None:
        raw = self.mapping(node[key], f"{where} › action", value_pos(node, key))
        if raw is None:
            return None
        self.keys(raw, ("consultation", "within"), f"{where} › action")
        if not self.require(raw, "consultation", f"{where} › action", "consultation: phone"):
            return None
        value = raw["consultation"]
        try:
            consultation = Consultation.parse(value)
        except ValueError:
            self.problem(
                value_pos(raw, "consultation"),
                "unknown-consultation",
                value=value,
                close=closest(str(value).lower(), CONSULTATION_NAMES),
                known=", ".join(CONSULTATION_NAMES),
            )
            return None
        within = self.duration(raw, "within") if raw.get("within") is not None else None
        return Action(consultation, within)

    def expression_pos(self, node: dict[Any, Any], key: str, name: str | None) -> Pos:
        """Where ``name`` stands inside the expression under ``key`` (else the value)."""
        line, col = value_pos(node, key)
        if not name or line > len(self.lines):
            return line, col
        source = self.lines[line - 1]
        match = re.search(
            rf"(?<![A-Za-z0-9_$]){re.escape(name)}(?![A-Za-z0-9_])", source[col - 1 :]
        )
        return (line, col + match.start()) if match else (line, col)
