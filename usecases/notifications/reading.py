"""Staff read the notification outbox: failed events first of all, to act on them."""

from __future__ import annotations

from sqlmodel import col, select

from store.db import session_scope
from store.notifications import STATUSES, Notification
from usecases.access import Actor, audit
from usecases.errors import Forbidden, Invalid

__all__ = ["read_notifications"]


def read_notifications(
    actor: Actor, status: str | None = None, limit: int = 100
) -> list[Notification]:
    """The newest events (of one status, if given) of the pathways granted to the caller
    (``*``: all). The read is audited for each patient shown: an event names a patient."""
    if not actor.is_staff:
        raise Forbidden("notifications are for staff")
    if status is not None and status not in STATUSES:
        raise Invalid(f"status must be one of {', '.join(STATUSES)}")
    with session_scope() as session:
        query = select(Notification).order_by(col(Notification.created).desc())
        if status is not None:
            query = query.where(col(Notification.status) == status)
        if "*" not in actor.pathways:
            query = query.where(col(Notification.pathway_id).in_(sorted(actor.pathways)))
        rows = list(session.exec(query.limit(limit)).all())
        for patient_id in sorted({row.patient_id for row in rows}):
            audit(session, actor, "notifications.read", patient_id)
    return rows
