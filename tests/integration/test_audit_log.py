"""The audit table is append-only in the database itself (migration 0002's triggers), on
both backends: an UPDATE or DELETE through SQLAlchemy, in SQL or through the ORM, raises and
leaves every row as it was; on PostgreSQL so does TRUNCATE."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from api.auth import Principal
from store.db import session_scope
from store.models import AuditEvent
from tests.conftest import Service
from usecases.access import audit

REFUSAL = "append-only"
SNAPSHOT = sa.text(
    "SELECT id, CAST(at AS TEXT), actor, role, action, patient_id, target, "
    "CAST(detail AS TEXT) FROM auditevent ORDER BY id"
)


def snapshot() -> list[tuple[Any, ...]]:
    """Every audit row as the database stores it (times and JSON as text)."""
    with session_scope() as session:
        return [tuple(row) for row in session.connection().execute(SNAPSHOT)]


@pytest.fixture
def rows(service: Service) -> list[tuple[Any, ...]]:
    reader = Principal("clinician:audit-test", "clinician", None, frozenset({"*"}))
    with session_scope() as session:
        audit(session, reader, "read", "p-audit-1", "Patient/p-audit-1", fields=["name"])
        audit(session, reader, "read", "p-audit-2", "Patient/p-audit-2")
    before = snapshot()
    assert len(before) >= 2
    return before


STATEMENTS = {
    "update": "UPDATE auditevent SET actor = 'someone-else'",
    "update-one": "UPDATE auditevent SET detail = '{}' WHERE id = (SELECT MAX(id) FROM auditevent)",
    "delete": "DELETE FROM auditevent",
    "delete-one": "DELETE FROM auditevent WHERE id = (SELECT MIN(id) FROM auditevent)",
}


@pytest.mark.parametrize("statement", list(STATEMENTS))
def test_sql_update_and_delete_are_refused(rows: list[tuple[Any, ...]], statement: str) -> None:
    with pytest.raises(DBAPIError, match=REFUSAL), session_scope() as session:
        session.connection().execute(sa.text(STATEMENTS[statement]))
    assert snapshot() == rows


def test_orm_update_is_refused(rows: list[tuple[Any, ...]]) -> None:
    with pytest.raises(DBAPIError, match=REFUSAL), session_scope() as session:
        event = session.exec(select(AuditEvent).order_by(AuditEvent.id)).first()
        assert event is not None
        event.actor = "someone-else"
        event.patient_id = None
    assert snapshot() == rows


def test_orm_delete_is_refused(rows: list[tuple[Any, ...]]) -> None:
    with pytest.raises(DBAPIError, match=REFUSAL), session_scope() as session:
        event = session.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()  # type: ignore[union-attr]
        assert event is not None
        session.delete(event)
    assert snapshot() == rows


def test_truncate_is_refused(service: Service, rows: list[tuple[Any, ...]]) -> None:
    """TRUNCATE on PostgreSQL; SQLite has none, its DELETE without WHERE is the same."""
    statement = "DELETE FROM auditevent" if service.name == "embedded" else "TRUNCATE auditevent"
    with pytest.raises(DBAPIError, match=REFUSAL), session_scope() as session:
        session.connection().execute(sa.text(statement))
    assert snapshot() == rows


def test_new_rows_are_still_appended(rows: list[tuple[Any, ...]]) -> None:
    reader = Principal("author:audit-test", "author", None, frozenset({"*"}))
    with session_scope() as session:
        audit(session, reader, "publish", None, "pathway/epilepsy")
    after = snapshot()
    assert after[: len(rows)] == rows
    assert len(after) == len(rows) + 1 and after[-1][2] == "author:audit-test"
