"""The ``schedule`` section: when a new response is expected, when a missing one is
overdue, and when the patient is reminded before that."""

from __future__ import annotations

from typing import Any

from triage.durations import Duration, DurationError, parse_duration
from triage.loading.context import FileContext
from triage.model import Schedule
from triage.yamlfile import item_pos, value_pos

__all__ = ["read_schedule"]


def read_schedule(ctx: FileContext, doc: dict[Any, Any]) -> Schedule | None:
    if doc.get("schedule") is None:
        return None
    node = ctx.mapping(doc["schedule"], "schedule", value_pos(doc, "schedule"))
    if node is None:
        return None
    ctx.keys(node, ("every", "remind_after", "overdue_after"), "schedule")
    if not ctx.require(node, "every", "schedule", "every: P6M"):
        return None
    every = ctx.duration(node, "every")
    overdue = ctx.duration(node, "overdue_after") if node.get("overdue_after") else None
    reminders = _reminders(ctx, node, overdue)
    return Schedule(every, overdue, reminders) if every else None


def _reminders(
    ctx: FileContext, node: dict[Any, Any], overdue: Duration | None
) -> tuple[Duration, ...]:
    """``remind_after``: durations after the due time, ascending, each before
    ``overdue_after`` (a reminder after the item turned yellow reminds of nothing new).
    Durations are compared by :meth:`Duration.approx_timedelta` (a month as 30 days)."""
    if node.get("remind_after") is None:
        return ()
    seq = ctx.seq(node["remind_after"], "schedule › remind_after", value_pos(node, "remind_after"))
    if seq is None:
        return ()
    found: list[Duration] = []
    for index, raw in enumerate(seq):
        pos = item_pos(seq, index)
        try:
            duration = parse_duration(raw)
        except DurationError as exc:
            ctx.problem(pos, "bad-duration", detail=str(exc), value=raw)
            continue
        length = duration.approx_timedelta()
        if found and length <= found[-1].approx_timedelta():
            ctx.problem(pos, "remind-not-ascending", value=duration, previous=found[-1])
            continue
        if overdue is not None and length >= overdue.approx_timedelta():
            ctx.problem(pos, "remind-after-overdue", value=duration, overdue=overdue)
            continue
        found.append(duration)
    return tuple(found)
