"""A replay report (docs/replay.md: a job's, or the shadow version's over its live period) as
the page "Prøv endring" shows it: the matrix cells with their words and direction, the
before/after bars as Chart.js data with the same numbers for the table beside it, the rules
fired, and the example cases in changed-cell order."""

from __future__ import annotations

from typing import Any

from api.web.i18n import Words, short

LEVELS = ("red", "yellow", "green")
RANK = {"red": 2, "yellow": 1, "green": 0}
# The bars: (the table's and the chart's label, where the number is in the report).
BARS = (
    ("red_per_100", "rates", "red_per_100_uploads"),
    ("yellow_per_100", "rates", "yellow_per_100_uploads"),
    ("opened_red", "items_opened", "red"),
    ("opened_yellow", "items_opened", "yellow"),
    ("raised_to_red", "items_opened", "raised_to_red"),
)
RATES = (("red_per_day_r", "red_per_day"), ("yellow_per_day_r", "yellow_per_day"))


def direction(stored: str, draft: str) -> str:
    """``up`` when the draft's level is higher than the stored one, ``down`` lower, else
    ``same``."""
    difference = RANK[draft] - RANK[stored]
    return "up" if difference > 0 else "down" if difference < 0 else "same"


def _number(value: float | int, words: Words) -> str:
    return str(value) if isinstance(value, int) else words.number(value, 2)


def matrix_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per stored level, one cell per draft level: the count and its direction."""
    matrix = report["matrix"]
    return [
        {
            "stored": stored,
            "total": sum(matrix[stored].values()),
            "cells": [
                {
                    "stored": stored,
                    "draft": draft,
                    "n": matrix[stored][draft],
                    "direction": direction(stored, draft),
                }
                for draft in LEVELS
            ],
        }
        for stored in LEVELS
    ]


def bars(report: dict[str, Any], words: Words) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The before/after rows of the table, and the same numbers as the bar chart's data."""
    rows = []
    for key, part, name in BARS:
        before, after = report[part]["before"][name], report[part]["after"][name]
        rows.append(
            {
                "key": key,
                "label": words(key),
                "before": before,
                "after": after,
                "before_text": _number(before, words),
                "after_text": _number(after, words),
                "chart": True,
            }
        )
    for key, name in RATES:  # per day: in the table only (another scale)
        before, after = report["rates"]["before"][name], report["rates"]["after"][name]
        rows.append(
            {
                "key": key,
                "label": words(key),
                "before": before,
                "after": after,
                "before_text": _number(before, words),
                "after_text": _number(after, words),
                "chart": False,
            }
        )
    drawn = [row for row in rows if row["chart"]]
    chart = {
        "id": "bars",
        "labels": [row["label"] for row in drawn],
        "y": words("bars_axis"),
        "datasets": [
            {"label": words("before"), "data": [r["before"] for r in drawn], "style": "before"},
            {"label": words("after"), "data": [r["after"] for r in drawn], "style": "after"},
        ],
    }
    return rows, chart


def fired_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each rule's fire count before and after, the changed ones first."""
    rows = [
        {"rule": rule, **counts, "difference": counts["after"] - counts["before"]}
        for rule, counts in report["fired"].items()
    ]
    return sorted(rows, key=lambda r: (r["difference"] == 0, r["rule"]))


def _inputs(values: dict[str, Any]) -> str:
    return ", ".join(f"{name} = {value}" for name, value in sorted(values.items()))


def example_cells(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The changed cells that have examples, in matrix order, each with its examples."""
    cells = []
    for stored in LEVELS:
        for draft in LEVELS:
            found = report["examples"].get(f"{stored}->{draft}")
            if stored == draft or not found:
                continue
            cells.append(
                {
                    "id": f"{stored}-{draft}",
                    "stored": stored,
                    "draft": draft,
                    "direction": direction(stored, draft),
                    "n": report["matrix"][stored][draft],
                    "examples": [
                        {
                            **e,
                            "when": short(e["as_of"]),
                            "inputs_text": _inputs(e.get("inputs") or {}),
                        }
                        for e in found
                    ],
                }
            )
    return cells


def view(report: dict[str, Any], words: Words) -> dict[str, Any]:
    """Everything the report part of the page (templates/_replay_report.html) reads."""
    rows, chart = bars(report, words)
    period = report["period"]
    return {
        "report": report,
        "matrix_rows": matrix_rows(report),
        "bar_rows": rows,
        "charts": [chart],
        "fired": fired_rows(report),
        "cells": example_cells(report),
        "new_red": [{**p, "when": short(p["first_red"])} for p in report["new_red_patients"]],
        "period_text": words(
            "period_asked",
            start=short(period.get("start")),
            end=short(period.get("end")),
            days=words.number(float(period.get("days") or 0), 1),
        ),
        "not_replayed": report["not_replayed"],
        "self_check": report["self_check"],
    }
