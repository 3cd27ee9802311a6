"""replay jobs: a draft pathway replayed on the stored uploads of a period

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 10:00:00

``POST /api/pathways/{id}/replay`` stores the draft and the period here and the worker
writes the status, the progress and, when done, the report (docs/replay.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from store.models import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString()
    op.create_table(
        "replayjob",
        sa.Column("id", text, nullable=False),
        sa.Column("pathway_id", text, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", text, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("period_start", UTCDateTime(), nullable=False),
        sa.Column("period_end", UTCDateTime(), nullable=False),
        sa.Column("period_text", text, nullable=False),
        sa.Column("status", text, nullable=False),
        sa.Column("requested_by", text, nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("done_uploads", sa.Integer(), nullable=False),
        sa.Column("total_uploads", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_replayjob_pathway_id", "replayjob", ["pathway_id"])


def downgrade() -> None:
    op.drop_index("ix_replayjob_pathway_id", table_name="replayjob")
    op.drop_table("replayjob")
