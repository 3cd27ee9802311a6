"""notifications: the outbox of events for the patient (task ready, reminder, result ready)

Revision ID: 0011
Revises: 0009
Create Date: 2027-01-10 09:00:00

One row per event, holding ids only and the patient's link; ``idempotency_key`` is UNIQUE,
so an event enqueued twice is one row. The worker delivers ``pending`` rows whose
``next_attempt_at`` has come (index ``ix_notification_due``). docs/notifications.md.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from store.models import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString()
    op.create_table(
        "notification",
        sa.Column("id", text, nullable=False),
        sa.Column("kind", text, nullable=False),
        sa.Column("patient_id", text, nullable=False),
        sa.Column("pathway_id", text, nullable=False),
        sa.Column("task_id", text, nullable=True),
        sa.Column("resource_id", text, nullable=True),
        sa.Column("link", text, nullable=True),
        sa.Column("idempotency_key", text, nullable=False),
        sa.Column("status", text, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created", UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index("ix_notification_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_notification_patient_id"), ["patient_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_patient_id"))
        batch_op.drop_index("ix_notification_due")
    op.drop_table("notification")
