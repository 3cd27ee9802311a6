"""The time of business events: when data was received, an item acknowledged or resolved,
a patient enrolled, a result made.

:func:`now` is the current UTC time, unless a caller has set another with :func:`frozen_at`
for its own context (a ``ContextVar``: the thread or task that set it, and nothing else).
The demo history uses it to write twelve months of follow-up "as of" past times through
the real use cases. Nothing in production sets it, so there :func:`now` is the wall clock.

Times that must stay the wall clock whatever is set (worker heartbeats, health probes,
rate limits, token expiry) read ``datetime.now`` themselves, not this.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["frozen_at", "is_set", "now"]

_set: ContextVar[dt.datetime | None] = ContextVar("runtime.clock", default=None)


def now() -> dt.datetime:
    """The time of a business event now: the time set for this context, else the wall
    clock (UTC, aware)."""
    when = _set.get()
    return when if when is not None else dt.datetime.now(dt.UTC)


def is_set() -> bool:
    """True inside :func:`frozen_at`."""
    return _set.get() is not None


@contextmanager
def frozen_at(when: dt.datetime) -> Iterator[dt.datetime]:
    """Within the block, :func:`now` answers ``when`` (aware; kept in UTC) in this context."""
    if when.tzinfo is None:
        raise ValueError("the clock takes an aware time")
    token = _set.set(when.astimezone(dt.UTC))
    try:
        yield when.astimezone(dt.UTC)
    finally:
        _set.reset(token)
