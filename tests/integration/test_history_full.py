"""The demo history at its default size, as ``make run`` writes it on SQLite: a few hundred
patients over twelve months, written through the use cases (issue 12). How long it takes
is measured by bench/history.py, not asserted here: a busy machine must not fail a test."""

from __future__ import annotations

import datetime as dt

from seeds.history_load import load_history
from tests.conftest import Service
from tests.integration.history_helpers import year_figures

NOW = dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.UTC)


def test_the_default_history_shows_visits_avoided(
    embedded_service: Service,
) -> None:
    report = load_history(now=NOW)
    assert report.loaded
    assert report.counts["patients"] >= 300 and report.counts["uploads"] >= 1200, report.counts
    for pathway in ("wrist-fracture", "epilepsy"):
        year = year_figures(pathway, NOW)
        assert year["avoided_visits"] / year["answered"] > 0.5, (pathway, year)
