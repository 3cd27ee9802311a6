"""CSV downloads (the statistics and the tertial report): RFC 4180 text in UTF-8, a header
row, CRLF line ends, every cell that needs it quoted by :mod:`csv`; an attachment with a
file name. A text cell that a spreadsheet would run as a formula (it starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return) is written with a leading ``'``, so opening
the file never runs anything. Numbers are written as numbers; ``None`` is an empty cell."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi.responses import Response

__all__ = ["CSV", "OPENAPI", "CsvResponse", "attachment", "cell", "csv_text", "safe_filename"]

CSV = "text/csv; charset=utf-8"
_FORMULA = ("=", "+", "-", "@", "\t", "\r")

# How /openapi.json describes a CSV answer.
OPENAPI: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "a CSV file (RFC 4180, UTF-8, a header row), as an attachment",
        "content": {CSV: {"schema": {"type": "string"}}},
    }
}


class CsvResponse(Response):
    media_type = CSV


def cell(value: Any) -> Any:
    """A value as a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([cell(h) for h in header])
    writer.writerows([cell(v) for v in row] for row in rows)
    return out.getvalue()


def safe_filename(*parts: str | None) -> str:
    """``a-b-c.csv`` from the parts given, each kept to letters, digits, ``.``, ``_``, ``-``."""
    kept = [re.sub(r"[^A-Za-z0-9._-]+", "_", p) for p in parts if p]
    return "-".join(kept)[:150] + ".csv"


def attachment(header: Sequence[str], rows: Iterable[Sequence[Any]], filename: str) -> CsvResponse:
    """The CSV as a download named ``filename`` (made by :func:`safe_filename`)."""
    return CsvResponse(
        csv_text(header, rows),
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
