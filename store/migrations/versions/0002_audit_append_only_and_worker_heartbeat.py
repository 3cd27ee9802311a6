"""audit events append-only in the database; worker heartbeats

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 16:50:00

The audit table is the hospital's record of who read whom: no code path of ours updates or
deletes it, and from this revision the database refuses to as well, on PostgreSQL and
SQLite alike, whoever is connected (a bug, an injected statement, a careless script).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFUSAL = "auditevent is append-only: audit events are never changed or deleted"


def upgrade() -> None:
    op.create_table(
        "workerheartbeat",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("started_at", store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("seen_at", store.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("workerheartbeat", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workerheartbeat_seen_at"), ["seen_at"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION auditevent_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{REFUSAL}' USING ERRCODE = 'insufficient_privilege';
            END
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER auditevent_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
            "ON auditevent FOR EACH STATEMENT EXECUTE FUNCTION auditevent_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER auditevent_no_{event.lower()} BEFORE {event} ON auditevent "
                f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS auditevent_append_only ON auditevent")
        op.execute("DROP FUNCTION IF EXISTS auditevent_append_only()")
    else:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS auditevent_no_{event}")
    with op.batch_alter_table("workerheartbeat", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workerheartbeat_seen_at"))
    op.drop_table("workerheartbeat")
