"""The page "Resultater" (/app/results): the statistics of docs/statistics.md for a granted
pathway (or every granted one), a period and a bucket size, as charts drawn by Chart.js
with the same numbers in a table beside each, and a table of key figures per pathway.

The figures come from :func:`usecases.statistics.statistics`, the use case behind
``GET /api/stats``: the same grants decide what is counted, and it audits the read."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.stats import stats_csv
from api.web.i18n import OSLO, Words
from api.web.pages import Clinician, WebRoute, language, render
from api.web.results_words import month_name
from usecases import pathways
from usecases import statistics as stats
from usecases.errors import Unprocessable
from usecases.statistics.buckets import Bucket, BucketSize

router = APIRouter(route_class=WebRoute)

SIZES: tuple[BucketSize, ...] = ("week", "month", "tertial")
LEVELS = ("red", "yellow", "green")
CONTACTS = ("none", "digital", "phone", "video", "physical", "not_recorded")
# The page's own download (signed in by the page's cookie; /api/stats.csv wants a bearer
# token): the very table of /api/stats.csv.
CSV = "/app/results.csv"


def default_period(today: dt.date) -> tuple[dt.date, dt.date]:
    """The last 12 months: from the first day of the month eleven months back to today, so
    that by month there are twelve buckets, the current month the last."""
    months = today.year * 12 + today.month - 1 - 11
    return dt.date(months // 12, months % 12 + 1, 1), today


def bucket_label(bucket: Bucket, by: str, words: Words) -> str:
    """How a bucket is named: "mar 2026", "uke 12 2026", "1. tertial 2026"."""
    day = bucket.first_day
    if by == "week":
        year, week, _ = day.isocalendar()
        return words("week_label", week=week, year=year)
    if by == "tertial":
        return words("tertial_label", n=(day.month - 1) // 4 + 1, year=day.year)
    return month_name(day, words.lang)


class Shown:
    """Numbers as the page writes them, in the page's language; "–" for none."""

    def __init__(self, words: Words) -> None:
        self.words = words

    def share(self, value: float | None) -> str:
        return "–" if value is None else f"{self.words.number(100 * value, 1)} %"

    def hours(self, value: float | None) -> str:
        return "–" if value is None else self.words.number(value, 1)

    def decimal(self, value: float | None) -> str:
        return "–" if value is None else self.words.number(value, 2)


def _percent(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 2)


def _row(figures: stats.BucketFigures, label: str, shown: Shown) -> dict[str, Any]:
    """One bucket's figures as the tables show them (text) and the charts draw them."""
    scheduled = figures.scheduled
    load = figures.alert_load
    return {
        "label": label,
        "first_day": figures.bucket.first_day.isoformat(),
        "last_day": figures.bucket.last_day.isoformat(),
        "patients": figures.patients,
        "uploads": figures.uploads,
        "results": figures.results,
        "response_rate": shown.share(scheduled["response_rate"]) if scheduled else "–",
        "silent": scheduled["silent_patients"] if scheduled else "–",
        "overdue": figures.overdue,
        "own_share": shown.share(figures.own_thresholds["share"]),
        "scheduled": None
        if scheduled is None
        else {
            "answered": scheduled["answered"],
            "green": scheduled["green"],
            "green_share": shown.share(scheduled["green_share"]),
            "avoided": scheduled["avoided_visits"],
            "avoided_share": shown.share(scheduled["avoided_share"]),
        },
        "contacts": figures.contacts,
        "contacts_total": sum(figures.contacts.values()),
        "ack": {
            level: {
                "count": figures.acknowledge[level]["count"],
                "median": shown.hours(figures.acknowledge[level]["median_hours"]),
                "p90": shown.hours(figures.acknowledge[level]["p90_hours"]),
            }
            for level in LEVELS
        },
        "red_in_time": shown.share(figures.red_in_time["share"]),
        "load": {
            "opened": load["opened"],
            "per_day": shown.decimal(load["per_day"]),
            "clinicians": load["clinicians"],
            "per_clinician": shown.decimal(load["per_clinician"]),
        },
    }


def _charts(pid: str, found: stats.PathwayFigures, labels: list[str], words: Words) -> list[Any]:
    """What Chart.js draws for one pathway (read by static/results.js): per bucket, the
    green and avoided shares, the median time to acknowledge per level and the alerts per
    day; the contacts by type summed over the period. Levels keep their shapes (■ ▲ ●)."""
    buckets = found.buckets
    charts: list[dict[str, Any]] = []
    if all(b.scheduled is not None for b in buckets):
        charts.append(
            {
                "id": f"green-{pid}",
                "type": "line",
                "labels": labels,
                "y": words("share_axis"),
                "max": 100,
                "datasets": [
                    {
                        "label": words("green_share"),
                        "data": [_percent(b.scheduled["green_share"]) for b in buckets],  # type: ignore[index]
                        "style": "green",
                    },
                    {
                        "label": words("avoided_share"),
                        "data": [_percent(b.scheduled["avoided_share"]) for b in buckets],  # type: ignore[index]
                        "style": "avoided",
                    },
                ],
            }
        )
    totals = [sum(b.contacts[c] for b in buckets) for c in CONTACTS]
    charts.append(
        {
            "id": f"contacts-{pid}",
            "type": "bar",
            "labels": [_contact_word(c, words) for c in CONTACTS],
            "y": words("count_axis"),
            "datasets": [{"label": words("total"), "data": totals, "style": "count"}],
        }
    )
    charts.append(
        {
            "id": f"ack-{pid}",
            "type": "line",
            "labels": labels,
            "y": words("hours_axis"),
            "datasets": [
                {
                    "label": words("median_hours", level=words(level)),
                    "data": [b.acknowledge[level]["median_hours"] for b in buckets],
                    "style": level,
                }
                for level in LEVELS
            ],
        }
    )
    charts.append(
        {
            "id": f"load-{pid}",
            "type": "bar",
            "labels": labels,
            "y": words("per_day"),
            "datasets": [
                {
                    "label": words("per_day"),
                    "data": [b.alert_load["per_day"] for b in buckets],
                    "style": "count",
                }
            ],
        }
    )
    return charts


def _contact_word(contact: str, words: Words) -> str:
    return words("contact_not_recorded" if contact == "not_recorded" else f"contact_{contact}")


def _pathway(
    found: stats.PathwayFigures, by: str, words: Words, query: dict[str, str]
) -> dict[str, Any]:
    labels = [bucket_label(b.bucket, by, words) for b in found.buckets]
    shown = Shown(words)
    rows = [_row(b, label, shown) for b, label in zip(found.buckets, labels, strict=True)]
    totals = {c: sum(r["contacts"][c] for r in rows) for c in CONTACTS}
    return {
        "id": found.pathway,
        "overdue_now": found.overdue_now,
        "rows": rows,
        "scheduled": all(r["scheduled"] is not None for r in rows),
        "contact_totals": totals,
        "contacts_total": sum(totals.values()),
        "charts": _charts(found.pathway, found, labels, words),
        "csv": CSV + "?" + urlencode({**query, "pathway": found.pathway}),
    }


def _period(request: Request, words: Words) -> tuple[dt.date, dt.date, str, list[str]]:
    """The period and bucket size asked for (the last 12 months by month when not given),
    and the problems with them, in the page's words."""
    first, last = default_period(dt.datetime.now(OSLO).date())
    problems = []
    days = []
    for name, default in (("from", first), ("to", last)):
        text = (request.query_params.get(name) or "").strip()
        try:
            days.append(dt.date.fromisoformat(text) if text else default)
        except ValueError:
            problems.append(words("bad_date", text=text))
            days.append(default)
    by = request.query_params.get("by") or "month"
    if by not in SIZES:
        problems.append("by: week, month, tertial")
        by = "month"
    return days[0], days[1], by, problems


@router.get("/results")
def results_page(request: Request, principal: Clinician) -> HTMLResponse:
    """Statistics for the pathways the clinician is granted, as charts and tables."""
    words = Words(language(request))
    first, last, by, problems = _period(request, words)
    pathway = request.query_params.get("pathway") or None
    query = {"from": first.isoformat(), "to": last.isoformat(), "by": by}
    chosen = {"pathway": pathway} if pathway else {}
    shown: list[dict[str, Any]] = []
    counted = ""
    if not problems:
        try:
            found = stats.statistics(principal, pathway, first, last, by)  # type: ignore[arg-type]
        except Unprocessable as exc:
            problems = list(exc.problems or [exc.text])
        else:
            shown = [_pathway(p, by, words, query) for p in found.pathways]
            counted = found.at.astimezone(OSLO).strftime("%Y-%m-%d %H:%M")
    return render(
        request,
        "results.html",
        code=422 if problems else 200,
        choices=pathways.granted_ids(principal),
        pathway=pathway or "",
        first=first,
        last=last,
        by=by,
        sizes=SIZES,
        levels=LEVELS,
        contacts=CONTACTS,
        problems=problems,
        results=shown,
        counted=counted,
        charts=[chart for p in shown for chart in p["charts"]],
        csv=CSV + "?" + urlencode({**chosen, **query}),
        keep=urlencode({**chosen, **query}),  # the language link keeps the choice
    )


@router.get("/results.csv")
def results_csv(request: Request, principal: Clinician) -> Response:
    """The figures on the page as the CSV of ``/api/stats.csv``, for a signed-in clinician:
    the same use case, grants and audit, the same columns."""
    words = Words(language(request))
    first, last, by, problems = _period(request, words)
    if problems:
        raise Unprocessable("the period cannot be counted", problems)
    pathway = request.query_params.get("pathway") or None
    return stats_csv(principal, pathway, first, last, by)  # type: ignore[arg-type]
