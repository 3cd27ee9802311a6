"""Overrides per rule (docs/statistics.md): how often clinicians overrode the engine after
a rule fired, raised or lowered, beside how often the rule fired; facts per day in SQL,
with the rules a result fired read from its stored record (``fired``) by the database's
JSON functions."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from usecases.judging.items import ACTOR
from usecases.statistics.days import day_of, facts
from usecases.statistics.queries import TABLES, Event, TriageResult, not_withdrawn

__all__ = ["OTHERWISE", "fired", "overridden"]

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


def fired(session: Session, pathway: str) -> sa.Select[Any]:
    """Per day of their data and rule: upload results (not withdrawn) that fired the rule
    (``fired``; a result that fired none counts for ``(otherwise)``)."""
    tr = TABLES["triageresult"]
    judged = (
        sa.select(tr.c.id, tr.c.result, sa.func.coalesce(tr.c.data_time, tr.c.created).label("at"))
        .where(
            tr.c.pathway_id == pathway,
            tr.c.kind == "upload",
            not_withdrawn(tr.c.resource_id),
        )
        .subquery("judged")
    )
    rule = _rules(session, judged)
    day = day_of(session, judged.c.at).label("day")
    name = sa.func.coalesce(sa.cast(rule.c.value, sa.String), OTHERWISE).label("key")
    inner = (
        sa.select(day, name, sa.func.count(sa.distinct(judged.c.id)).label("n"))
        .select_from(judged)
        .outerjoin(rule, sa.true())
        .group_by(day, name)
    )
    return facts(inner, pathway, fired="n")


def overridden(session: Session, pathway: str) -> sa.Select[Any]:
    """Per day of the override and rule: overrides, raised and lowered (``overrides``,
    ``raised``, ``lowered``); each counts for every rule fired by the newest result the
    worker put on the item before it (none fired: ``(otherwise)``)."""
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
    name = sa.func.coalesce(sa.cast(rule.c.value, sa.String), OTHERWISE).label("key")
    up = _rank(held.c.clinician) > _rank(held.c.engine)
    down = _rank(held.c.clinician) < _rank(held.c.engine)
    day = day_of(session, held.c.at).label("day")
    inner = (
        sa.select(
            day,
            name,
            sa.func.count(sa.distinct(held.c.override)).label("n"),
            sa.func.count(sa.distinct(sa.case((up, held.c.override)))).label("up"),
            sa.func.count(sa.distinct(sa.case((down, held.c.override)))).label("down"),
        )
        .select_from(held)
        .join(results, results.c.id == held.c.result_id)
        .outerjoin(rule, sa.true())
        .group_by(day, name)
    )
    return facts(inner, pathway, overrides="n", raised="up", lowered="down")
