"""Handing outbox rows to the broker, only after the transaction that wrote them committed."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from sqlalchemy import update

from store.db import session_scope
from store.models import Outbox

log = logging.getLogger(__name__)


def dispatch(outbox_ids: Iterable[int], request_id: str | None = None) -> int:
    """Send one triage task per outbox row; return how many were handed over.

    Never raises: a row that could not be sent (the broker is down) keeps
    ``dispatched_at`` empty and the periodic re-send hands it over later.
    """
    from worker.tasks import triage_outbox

    sent: list[int] = []
    for outbox_id in outbox_ids:
        try:
            triage_outbox.apply_async(
                args=[outbox_id], headers={"request_id": request_id}, retry=False
            )
        except Exception:  # the broker is unreachable: the outbox keeps the work
            log.warning("broker unavailable; outbox row %s left for re-send", outbox_id)
            break
        sent.append(outbox_id)
    if sent:
        try:
            with session_scope() as session:
                session.execute(
                    update(Outbox)
                    .where(Outbox.id.in_(sent))  # type: ignore[union-attr]
                    .values(dispatched_at=dt.datetime.now(dt.UTC))
                )
        except Exception:
            log.warning("could not mark %d outbox rows as dispatched", len(sent))
    return len(sent)
