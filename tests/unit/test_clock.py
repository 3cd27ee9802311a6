"""The clock of business events (runtime/clock.py): the wall clock unless a context set
another time, and only for that context."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from runtime import clock
from store.models import utcnow, wall_clock

PAST = dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)


def test_without_a_time_set_the_clock_is_the_wall_clock() -> None:
    before = dt.datetime.now(dt.UTC)
    seen = clock.now()
    after = dt.datetime.now(dt.UTC)
    assert before <= seen <= after
    assert seen.tzinfo is not None
    assert not clock.is_set()


def test_a_time_set_is_answered_inside_the_block_and_forgotten_after_it() -> None:
    oslo = dt.timezone(dt.timedelta(hours=1))
    with clock.frozen_at(PAST.astimezone(oslo)) as when:
        assert when == PAST and clock.now() == PAST and clock.now().tzinfo == dt.UTC
        assert utcnow() == PAST  # the defaults of the tables read it
        assert wall_clock() > PAST + dt.timedelta(days=300)  # heartbeats do not
        with clock.frozen_at(PAST + dt.timedelta(hours=2)):
            assert clock.now() == PAST + dt.timedelta(hours=2)
        assert clock.now() == PAST
    assert clock.now() > PAST + dt.timedelta(days=300)


def test_a_time_set_in_one_thread_is_not_seen_by_another() -> None:
    seen: list[dt.datetime] = []
    with clock.frozen_at(PAST):
        other = threading.Thread(target=lambda: seen.append(clock.now()))
        other.start()
        other.join()
        assert clock.now() == PAST
    assert seen[0] > PAST + dt.timedelta(days=300)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"), clock.frozen_at(dt.datetime(2025, 1, 1)):
        pass
