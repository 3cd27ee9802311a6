"""What the demo history tests read back: the statistics over its year, the overrides by
direction, and the rows of every table (to show a second load writes nothing)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from api.auth import Principal
from store.db import get_engine, session_scope
from store.models import WorklistEvent
from usecases.statistics import statistics

TABLES = (
    "patient",
    "enrolment",
    "resource",
    "reading",
    "outbox",
    "triageresult",
    "worklistitem",
    "worklistevent",
    "auditevent",
)
RANK = {"red": 0, "yellow": 1, "green": 2}
LEADER = Principal("clinician:leader", "clinician", pathways=frozenset({"*"}))


def year_figures(pathway: str, now: dt.datetime) -> dict[str, Any]:
    """The pathway's figures summed over the history's twelve months (by tertial)."""
    last = now.date()
    first = last - dt.timedelta(days=365)
    [figures] = statistics(LEADER, pathway, first, last, "tertial", now).pathways
    total: Counter[str] = Counter()
    for bucket in figures.buckets:
        assert bucket.scheduled is not None, f"{pathway} has a schedule"
        for key in ("answered", "green", "avoided_visits", "fell_due", "unscheduled_reports"):
            total[key] += bucket.scheduled[key]
        for contact, n in bucket.contacts.items():
            total[f"contact {contact}"] += n
        total["acknowledged"] += sum(a["count"] for a in bucket.acknowledge.values())
        total["ended"] += bucket.patients["ended"]
        total["new"] += bucket.patients["new"]
    return dict(total)


def override_directions() -> Counter[str]:
    with session_scope() as session:
        events = session.exec(
            select(WorklistEvent).where(col(WorklistEvent.change) == "override")
        ).all()
    directions: Counter[str] = Counter()
    for event in events:
        engine, chosen = RANK[event.detail["engine_level"]], RANK[str(event.level)]
        directions["raised" if chosen < engine else "lowered"] += 1
    return directions


def row_counts() -> dict[str, int]:
    with get_engine().connect() as conn:
        return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}
