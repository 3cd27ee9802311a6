"""The demo history (seeds/history_load.py) written through the use cases into an empty
SQLite database, a third of its default size: the statistics show the pattern the seeds
describe (most wrist and epilepsy forms need no visit), with acknowledgements, every kind
of contact, overrides both ways and ended follow-ups; what is past is seen to, and a
second load writes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlmodel import col, func, select

from seeds.history_load import HistoryReport, load_history
from store.db import session_scope
from store.models import Enrolment, WorklistItem
from tests.conftest import Service
from tests.integration.history_helpers import override_directions, row_counts, year_figures

NOW = dt.datetime(2026, 6, 15, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def loaded(embedded_service: Service) -> Iterator[HistoryReport]:
    report = load_history(now=NOW, scale=0.3)
    assert report.loaded
    yield report


@pytest.mark.parametrize("pathway", ["wrist-fracture", "epilepsy"])
def test_most_wrist_and_epilepsy_forms_need_no_visit(loaded: HistoryReport, pathway: str) -> None:
    year = year_figures(pathway, NOW)
    assert year["answered"] >= 30, year
    assert year["avoided_visits"] / year["answered"] > 0.5, year
    assert 0.5 < year["green"] / year["answered"] < 0.95, year
    assert year["acknowledged"] > 0 and year["unscheduled_reports"] > 0, year


def test_the_clinic_acknowledged_overrode_both_ways_and_recorded_every_kind_of_contact(
    loaded: HistoryReport,
) -> None:
    contacts = {"none", "digital", "phone", "video", "physical", "not_recorded"}
    seen: dict[str, int] = dict.fromkeys(contacts, 0)
    for pathway in ("wrist-fracture", "epilepsy", "copd", "depression-phq9"):
        year = year_figures(pathway, NOW)
        for contact in contacts:
            seen[contact] += year[f"contact {contact}"]
    assert all(seen.values()), seen
    assert seen["none"] > seen["physical"] and seen["phone"] > seen["physical"], seen
    directions = override_directions()
    assert directions["raised"] > 0 and directions["lowered"] > 0, directions
    assert loaded.counts["acknowledged"] > 50 and loaded.counts["overridden"] > 0
    with session_scope() as session:
        ended = session.exec(
            select(func.count()).select_from(Enrolment).where(col(Enrolment.active).is_(False))
        ).one()
    assert ended == loaded.counts["ended"] > 10
    assert year_figures("wrist-fracture", NOW)["ended"] > 0


def test_only_a_handful_of_items_is_left_for_today(loaded: HistoryReport) -> None:
    with session_scope() as session:
        waiting = session.exec(
            select(WorklistItem).where(col(WorklistItem.status) != "resolved")
        ).all()
        resolved = session.exec(
            select(func.count())
            .select_from(WorklistItem)
            .where(col(WorklistItem.status) == "resolved")
        ).one()
    assert resolved > 300
    assert 0 < len(waiting) <= 15, [(i.level, i.status, i.created) for i in waiting]
    week_ago = NOW - dt.timedelta(days=7)
    assert all(i.updated >= week_ago for i in waiting), "nothing old is left waiting"


def test_loading_twice_writes_nothing(loaded: HistoryReport) -> None:
    before = row_counts()
    again = load_history(now=NOW, scale=0.3)
    assert not again.loaded
    assert row_counts() == before
    later = load_history(now=NOW + dt.timedelta(days=3), scale=0.3)  # the next day's `make run`
    assert not later.loaded and row_counts() == before


def test_every_row_carries_the_time_of_its_event_in_the_past_year(loaded: HistoryReport) -> None:
    from store.models import AuditEvent, Resource, TriageResult

    year_ago = NOW - dt.timedelta(days=366)
    with session_scope() as session:
        for column in (
            Resource.received_at,
            TriageResult.created,
            WorklistItem.resolved_at,
            AuditEvent.at,
        ):
            query = select(func.min(column), func.max(column))
            if column is AuditEvent.at:  # not the reads of the statistics by these tests
                query = query.where(col(AuditEvent.action) != "statistics.read")
            first, last = session.exec(query).one()
            assert year_ago <= first < NOW - dt.timedelta(days=200), (column, first)
            assert NOW - dt.timedelta(days=7) < last < NOW, (column, last)
        late = session.exec(
            select(func.count())
            .select_from(TriageResult)
            .where(col(TriageResult.created) < col(TriageResult.data_time))
        ).one()
    assert late == 0, "each upload judged when it arrived, after its data"


def test_the_past_results_are_not_sent_to_the_patients_again(loaded: HistoryReport) -> None:
    """The history's "result ready" events are of results the patients were told of when
    they happened: none is left waiting to be sent when the demo starts."""
    from store.notifications import Notification

    with session_scope() as session:
        kinds = select(Notification.kind, Notification.status, func.count()).group_by(
            col(Notification.kind), col(Notification.status)
        )
        found = {(kind, status): n for kind, status, n in session.exec(kinds)}
    assert found.get(("result-ready", "logged"), 0) > 100, found
    assert not [key for key in found if key[1] == "pending"], found
