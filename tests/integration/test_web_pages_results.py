"""The page "Resultater" (/app/results) as HTML, on the embedded default and on PostgreSQL +
Redis: it renders for a clinician with the last 12 months by month, lists only granted
pathways, refuses the rest like the other pages, audits the read through the use case, and
its tables hold the use case's numbers for a small history (some also worked out by hand).

The history: a pathway asking for a form every month (P1M, overdue after P7D). A, enrolled
10 Dec 2025, answers green 12 Jan and yellow 20 Feb (resolved by phone 21 Feb); B,
enrolled 5 Jan, answers red 6 Feb (resolved with a physical visit 8 Feb). Items: a red
opened 6 Feb 10:00 UTC, acknowledged 2 h later; a yellow opened 20 Feb 08:00 UTC,
acknowledged 4 h later."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from api.auth import Principal
from api.web.i18n import Words
from api.web.results import CONTACTS, LEVELS, Shown, default_period
from store.db import session_scope
from store.models import AuditEvent, WorklistItem
from tests.conftest import Service
from tests.integration.api_rows import add_item, add_patient, unique
from tests.integration.stats_rows import enrol, events, publish_scheduled, upload
from tests.integration.web_helpers import OSLO_CLOCK, signed_in, token
from usecases import statistics

PERIOD = {"from": "2026-01-01", "to": "2026-04-30", "by": "month"}
MONTHS = ["jan 2026", "feb 2026", "mar 2026", "apr 2026"]


class Tables(HTMLParser):
    """Every <table id=...> of a page: its rows, each a list of cell texts (th and td)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.current: str | None = None
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.current = dict(attrs).get("id") or ""
            self.tables[self.current] = []
        elif tag == "tr" and self.current is not None:
            self.row = []
        elif tag in ("th", "td") and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self.row is not None and self.cell is not None:
            self.row.append(re.sub(r"\s+", " ", "".join(self.cell)).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None and self.current is not None:
            self.tables[self.current].append(self.row)
            self.row = None
        elif tag == "table":
            self.current = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def noon(month: int, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=dt.UTC)


def resolve(item: str, at: dt.datetime, contact: str | None) -> None:
    with session_scope() as session:
        row = session.get(WorklistItem, item)
        assert row is not None
        row.resolved_at, row.resolved_by, row.contact = at, "dr-a", contact
        session.add(row)


@pytest.fixture(scope="module")
def history(service: Service) -> str:
    p = unique("results")
    url = publish_scheduled(p)
    a, b = add_patient(), add_patient()
    enrol(a, p, dt.datetime(2025, 12, 10, 12, tzinfo=dt.UTC), own=False)
    enrol(b, p, noon(1, 5), own=True)
    form = "QuestionnaireResponse"
    upload(a, p, form, noon(1, 12), "green", url=url)
    _, yellow = upload(a, p, form, noon(2, 20, 8), "yellow", url=url)
    _, red = upload(b, p, form, noon(2, 6, 10), "red", url=url)
    red_item = add_item(b, p, "red", noon(2, 7, 10), "resolved", created=noon(2, 6, 10))
    events(
        red_item,
        (noon(2, 6, 10), "triage", "created", "red"),
        (noon(2, 6, 12), "dr-a", "acknowledged", "red"),
        (noon(2, 8), "dr-a", "resolved", "red"),
        result=red,
    )
    resolve(red_item, noon(2, 8), "physical")
    yellow_item = add_item(a, p, "yellow", noon(2, 23, 8), "resolved", created=noon(2, 20, 8))
    events(
        yellow_item,
        (noon(2, 20, 8), "triage", "created", "yellow"),
        (noon(2, 20, 12), "dr-b", "acknowledged", "yellow"),
        (noon(2, 21), "dr-b", "resolved", "yellow"),
        result=yellow,
    )
    resolve(yellow_item, noon(2, 21), "phone")
    return p


def test_renders_for_a_clinician_with_the_last_12_months_and_granted_pathways_only(
    anonymous: TestClient, history: str
) -> None:
    other = unique("results-other")
    enrol(add_patient(), other, noon(1, 5), own=False)
    subject = f"clinician:{unique('leader')}"
    signed_in(anonymous, [history], subject)
    page = anonymous.get("/app/results")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "<h1>Resultater</h1>" in html
    assert '<a href="/app/results" aria-current="page">Resultater</a>' in html
    assert f'<option value="{history}"' in html and other not in html
    first, last = default_period(dt.datetime.now(OSLO_CLOCK).date())
    assert (last - first).days >= 333 and first.day == 1 and first.month == (last.month % 12) + 1
    assert f'value="{first.isoformat()}"' in html and f'value="{last.isoformat()}"' in html
    assert '<option value="month" selected>' in html
    tables = Tables(html).tables
    assert len(tables[f"figures-{history}"]) == 1 + 12  # a header and twelve months
    for chart in ("green", "contacts", "ack", "load"):
        assert f'<canvas data-chart="{chart}-{history}" role="img"' in html
    assert 'id="results-data"' in html and "<script>" not in html  # no inline script (CSP)
    # The read is audited by the use case, as GET /api/stats is.
    with session_scope() as session:
        rows = session.exec(select(AuditEvent).where(col(AuditEvent.actor) == subject)).all()
    assert [(r.action, r.detail["pathways"]) for r in rows] == [("statistics.read", [history])]
    assert rows[0].detail["first_day"] == first.isoformat()


def test_signed_out_goes_to_sign_in_and_a_pathway_not_granted_is_refused(
    anonymous: TestClient, history: str
) -> None:
    away = anonymous.get("/app/results", params=PERIOD)
    assert away.status_code == 303 and away.headers["location"] == "/app/login"
    signed_in(anonymous, [unique("mine")])
    refused = anonymous.get("/app/results", params={**PERIOD, "pathway": history})
    assert refused.status_code == 403 and "Ikke tillatt" in refused.text
    assert refused.headers["content-type"].startswith("text/html")
    empty = anonymous.get("/app/results", params=PERIOD)
    assert empty.status_code == 200 and history not in empty.text
    assert "Ingen forløp å vise" in empty.text


def test_the_tables_hold_the_use_cases_numbers(anonymous: TestClient, history: str) -> None:
    signed_in(anonymous, [history])
    html = anonymous.get("/app/results", params={**PERIOD, "pathway": history}).text
    tables = Tables(html).tables
    leader = Principal("clinician:check", "clinician", pathways=frozenset({history}))
    found = statistics.statistics(
        leader, history, dt.date(2026, 1, 1), dt.date(2026, 4, 30), "month"
    )
    shown = Shown(Words("nb"))
    buckets = found.pathways[0].buckets
    figures, green = tables[f"figures-{history}"][1:], tables[f"green-{history}"][1:]
    contacts, ack = tables[f"contacts-{history}"][1:], tables[f"ack-{history}"][1:]
    load = tables[f"load-{history}"][1:]
    for n, (month, b) in enumerate(zip(MONTHS, buckets, strict=True)):
        s = b.scheduled
        assert s is not None
        assert figures[n] == [
            month,
            *(str(b.patients[k]) for k in ("patients", "new", "ended")),
            str(b.uploads["QuestionnaireResponse"]),
            str(b.uploads["Observation"]),
            *(str(b.results[level]) for level in LEVELS),
            shown.share(s["response_rate"]),
            str(b.overdue),
            str(s["silent_patients"]),
            shown.share(b.own_thresholds["share"]),
        ]
        assert green[n] == [
            month,
            str(s["answered"]),
            str(s["green"]),
            shown.share(s["green_share"]),
            str(s["avoided_visits"]),
            shown.share(s["avoided_share"]),
        ]
        counted = [str(b.contacts[c]) for c in CONTACTS]
        assert contacts[n] == [month, *counted, str(sum(b.contacts.values()))]
        acks = [
            text
            for level in LEVELS
            for text in (
                str(b.acknowledge[level]["count"]),
                shown.hours(b.acknowledge[level]["median_hours"]),
                shown.hours(b.acknowledge[level]["p90_hours"]),
            )
        ]
        assert ack[n] == [month, *acks, shown.share(b.red_in_time["share"])]
        per_day, per_clinician = b.alert_load["per_day"], b.alert_load["per_clinician"]
        assert load[n] == [
            month,
            str(b.alert_load["opened"]),
            shown.decimal(per_day),
            str(b.alert_load["clinicians"]),
            shown.decimal(per_clinician),
        ]
    # Worked out by hand: February has two scheduled answers (B's red 6 Feb, A's yellow 20
    # Feb), neither green; A's was resolved by phone and no visit followed: one avoided.
    assert green[1] == ["feb 2026", "2", "0", "0,0 %", "1", "50,0 %"]
    assert green[0] == ["jan 2026", "1", "1", "100,0 %", "1", "100,0 %"]
    assert contacts[1][1:] == ["0", "0", "1", "0", "1", "0", "2"]
    assert contacts[-1] == ["Sum", "0", "0", "1", "0", "1", "0", "2"]  # the period's total
    assert ack[1][1:4] == ["1", "2,0", "2,0"] and ack[1][4:7] == ["1", "4,0", "4,0"]
    assert load[1] == ["feb 2026", "2", "0,07", "2", "1,00"]  # 2 opened over 28 days
    csv = f"/app/results.csv?from=2026-01-01&amp;to=2026-04-30&amp;by=month&amp;pathway={history}"
    assert f'href="{csv}"' in html
    # The language link keeps the pathway and the period.
    english = f"?pathway={history}&amp;from=2026-01-01&amp;to=2026-04-30&amp;by=month&amp;lang=en"
    assert f'href="{english}"' in html


def test_english_by_the_language_link_and_bad_periods_shown_on_the_page(
    anonymous: TestClient, history: str
) -> None:
    signed_in(anonymous, [history])
    english = anonymous.get("/app/results", params={**PERIOD, "lang": "en"}).text
    assert "<h1>Results</h1>" in english and "Green share" in english and "feb 2026" not in english
    assert "Feb 2026" in english
    by_week = anonymous.get("/app/results", params={**PERIOD, "by": "week", "lang": "nb"}).text
    assert "uke 1 2026" in by_week and "uke 18 2026" in by_week
    bad = anonymous.get("/app/results", params={"from": "2026-13-01", "to": "2026-04-30"})
    assert bad.status_code == 422 and "er ikke en dato" in bad.text and 'role="alert"' in bad.text
    backwards = anonymous.get("/app/results", params={"from": "2026-05-01", "to": "2026-04-01"})
    assert backwards.status_code == 422 and "the period ends before it starts" in backwards.text


def test_the_download_link_gives_the_api_csv_to_a_signed_in_clinician(
    anonymous: TestClient, history: str
) -> None:
    """The page's link works with the page's cookie (a browser sends no bearer token to
    /api), and gives exactly the CSV of /api/stats.csv for the same question."""
    query = {**PERIOD, "pathway": history}
    away = anonymous.get("/app/results.csv", params=query)
    assert away.status_code == 303 and away.headers["location"] == "/app/login"
    signed_in(anonymous, [history])
    download = anonymous.get("/app/results.csv", params=query)
    assert download.status_code == 200, download.text
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    bearer = {"Authorization": f"Bearer {token([history])}"}
    api = anonymous.get("/api/stats.csv", params=query, headers=bearer)
    assert api.status_code == 200, api.text
    assert download.text == api.text
    lines = download.text.splitlines()
    assert lines[0].startswith("pathway,") and len(lines) == 1 + 4  # January to April
    refused = anonymous.get("/app/results.csv", params={**PERIOD, "pathway": unique("other")})
    assert refused.status_code == 403
