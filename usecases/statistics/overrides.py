"""Overrides per rule (docs/statistics.md): how often clinicians overrode the engine after
a rule fired, raised or lowered, beside how often the rule fired; in SQL, with the rules a
result fired read from its stored record (``fired``) by the database's JSON functions."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from usecases.judging.items import ACTOR
from usecases.statistics.queries import TABLES, BucketTable, Event, Resource, TriageResult

__all__ = ["OTHERWISE", "overrides"]

OTHERWISE = "(otherwise)"  # a result no rule fired on: the pathway's `otherwise`
_RANK = {"green": 0, "yellow": 1, "red": 2}


def _rules(session: Session, results: Any) -> Any:
    """The rules each result fired, one row each (none: one row with NULL)."""
    if session.get_bind().dialect.name == "sqlite":
        return sa.func.json_each(results.c.result, "$.fired").table_valued("value")
    fired = sa.type_coerce(results.c.result, sa.JSON)["fired"]
    return sa.func.json_array_elements_text(fired).table_valued("value")


def _rank(level: Any) -> Any:
    return sa.case(*((level == name, n) for name, n in _RANK.items()), else_=None)


def overrides(session: Session, b: BucketTable, pathway: str) -> dict[int, dict[str, Any]]:
    """Per bucket and rule: times fired (upload results, not withdrawn, by the time of
    their data) and overrides (by their time), raised and lowered."""
    tr = TABLES["triageresult"]
    judged = (
        sa.select(tr.c.id, tr.c.result, sa.func.coalesce(tr.c.data_time, tr.c.created).label("at"))
        .join(TABLES["resource"], Resource.id == tr.c.resource_id)
        .where(tr.c.pathway_id == pathway, tr.c.kind == "upload", Resource.withdrawn.is_(False))
        .subquery("judged")
    )
    rule = _rules(session, judged)
    name = sa.func.coalesce(sa.cast(rule.c.value, sa.String), OTHERWISE)
    fired = (
        sa.select(b.c.i, name, sa.func.count(sa.distinct(judged.c.id)))
        .select_from(b.join(judged, b.within(judged.c.at)))
        .outerjoin(rule, sa.true())
        .group_by(b.c.i, name)
    )
    out: dict[int, dict[str, Any]] = {}

    def figure(i: int, rule_id: str) -> dict[str, Any]:
        empty: dict[str, Any] = {"fired": 0, "overrides": 0, "raised": 0, "lowered": 0}
        found: dict[str, Any] = out.setdefault(i, {}).setdefault(rule_id, empty)
        return found

    for i, rule_id, n in session.execute(fired):
        figure(i, rule_id)["fired"] = int(n)
    for i, rule_id, n, raised, lowered in session.execute(_overridden(session, b, pathway)):
        counts = figure(i, rule_id)
        counts.update(overrides=int(n), raised=int(raised or 0), lowered=int(lowered or 0))
    return out


def _overridden(session: Session, b: BucketTable, pathway: str) -> sa.Select[Any]:
    """Overrides per bucket and rule: each override counts for every rule fired by the
    newest result the worker put on the item before it (none fired: ``(otherwise)``)."""
    item = TABLES["worklistitem"]
    done = TABLES["worklistevent"].alias("done")
    before = (
        sa.select(
            done.c.id.label("override"),
            done.c.at,
            done.c.level.label("clinician"),
            sa.type_coerce(done.c.detail, sa.JSON)["engine_level"].as_string().label("engine"),
            Event.result_id,
            sa.func.row_number()
            .over(partition_by=done.c.id, order_by=(Event.at.desc(), Event.id.desc()))
            .label("n"),
        )
        .select_from(done)
        .join(item, item.c.id == done.c.item_id)
        .join(
            TABLES["worklistevent"],
            sa.and_(
                Event.item_id == done.c.item_id,
                Event.actor == ACTOR,
                Event.result_id.is_not(None),
                Event.at <= done.c.at,
            ),
        )
        .where(item.c.pathway_id == pathway, done.c.change == "override")
        .subquery("before")
    )
    held = (
        sa.select(
            before.c.override,
            before.c.at,
            before.c.clinician,
            before.c.engine,
            before.c.result_id,
        )
        .where(before.c.n == 1)
        .subquery("held")
    )
    results = sa.select(TriageResult.id, TriageResult.result).subquery("results")
    rule = _rules(session, results)
    name = sa.func.coalesce(sa.cast(rule.c.value, sa.String), OTHERWISE)
    up = _rank(held.c.clinician) > _rank(held.c.engine)
    down = _rank(held.c.clinician) < _rank(held.c.engine)
    return (
        sa.select(
            b.c.i,
            name,
            sa.func.count(sa.distinct(held.c.override)),
            sa.func.count(sa.distinct(sa.case((up, held.c.override)))),
            sa.func.count(sa.distinct(sa.case((down, held.c.override)))),
        )
        .select_from(b.join(held, b.within(held.c.at)))
        .join(results, results.c.id == held.c.result_id)
        .outerjoin(rule, sa.true())
        .group_by(b.c.i, name)
    )
