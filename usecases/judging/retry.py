"""One transaction, run again when it collides with a concurrent one on a UNIQUE key."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from store.db import session_scope

__all__ = ["with_conflict_retry"]

log = logging.getLogger(__name__)
T = TypeVar("T")
CONFLICT_TRIES = 5


def with_conflict_retry(work: Callable[[Session], T]) -> T:
    """Run ``work`` in a transaction; on a UNIQUE collision roll back and run it again."""
    for attempt in range(1, CONFLICT_TRIES + 1):
        try:
            with session_scope() as session:
                return work(session)
        except IntegrityError:
            if attempt == CONFLICT_TRIES:
                raise
            log.info("unique collision; running the transaction again (%d)", attempt)
            time.sleep(0.01 * attempt)
    raise AssertionError("unreachable")
