"""The PostgreSQL pool tests a connection only once it has rested (store/db.py): a
connection PostgreSQL dropped while it lay in the pool is replaced before anyone uses it,
and one dropped while in use fails that one use, after which the pool starts afresh.
Against the machine's PostgreSQL (the test fails when it is not running)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from store import db
from tests.conftest import PG_ADMIN_URL


@pytest.fixture
def engines() -> Iterator[tuple[Engine, Engine]]:
    pooled = db.make_engine(PG_ADMIN_URL)
    admin = sa.create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required at {PG_ADMIN_URL} ({exc.__class__.__name__})")
    yield pooled, admin
    pooled.dispose()
    admin.dispose()


def backend(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def drop(admin: Engine, pid: int) -> None:
    with admin.begin() as conn:
        assert conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()


def test_a_connection_dropped_while_resting_is_replaced_before_use(
    engines: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    pooled, admin = engines
    first = backend(pooled)
    assert backend(pooled) == first  # the same pooled connection, not a new one each time
    drop(admin, first)
    monkeypatch.setattr(db, "PING_AFTER_IDLE", 0.0)  # it has rested long enough
    assert backend(pooled) != first  # tested, found dead, replaced: no error for the user


def test_a_connection_dropped_in_use_fails_once_then_the_pool_starts_afresh(
    engines: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    pooled, admin = engines
    monkeypatch.setattr(db, "PING_AFTER_IDLE", 3600.0)  # just used: not tested
    first = backend(pooled)
    drop(admin, first)
    with pytest.raises(sa.exc.OperationalError), pooled.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    assert backend(pooled) != first
