"""The CSV downloads' writer (api/csv_files.py): RFC 4180 quoting of commas, quotes and
line breaks, no cell a spreadsheet would run as a formula, and file names that cannot break
the Content-Disposition header."""

from __future__ import annotations

import csv
import io

from api.csv_files import attachment, cell, csv_text, safe_filename


def test_commas_quotes_and_line_breaks_are_quoted_and_read_back() -> None:
    rows = [["Hånd, håndledd", 'Si "ja"', "to\nlinjer", 3, 0.25, None]]
    text = csv_text(["a", "b", "c", "d", "e", "f"], rows)
    assert text == 'a,b,c,d,e,f\r\n"Hånd, håndledd","Si ""ja""","to\nlinjer",3,0.25,\r\n'
    back = list(csv.reader(io.StringIO(text, newline="")))
    assert back[1] == ["Hånd, håndledd", 'Si "ja"', "to\nlinjer", "3", "0.25", ""]


def test_no_cell_starts_a_formula() -> None:
    for text in ("=1+1", "+47", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert cell(text) == "'" + text
    assert cell(-2) == -2  # numbers stay numbers
    assert cell("12345678901") == "12345678901"
    assert csv_text(["=x"], [["=HYPERLINK(1)"]]) == "'=x\r\n'=HYPERLINK(1)\r\n"


def test_file_names_keep_to_safe_characters() -> None:
    assert safe_filename("wmga28", "2026", "T3", None) == "wmga28-2026-T3.csv"
    assert safe_filename("statistics", 'a"b\r\n;c', "2026-01-01") == (
        "statistics-a_b_c-2026-01-01.csv"
    )
    answer = attachment(["a"], [[1]], "x.csv")
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == 'attachment; filename="x.csv"'
    assert answer.body == b"a\r\n1\r\n"
