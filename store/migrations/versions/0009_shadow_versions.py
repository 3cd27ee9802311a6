"""shadow versions: a pathway version that judges live data beside the one in force

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-01 09:00:00

``pathwayversion.mode`` says whether a version is ``active`` (every version published so
far), ``shadow`` (judges each upload beside the active one; at most one per pathway) or
``retired`` (a shadow version replaced or ended without being promoted). Shadow results go
to ``shadowresult``, a table of their own, so no worklist, patient read or statistic can
ever count one.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from store.models import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString()
    with op.batch_alter_table("pathwayversion", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mode", text, server_default="active", nullable=False))
        batch_op.create_index(
            "ux_pathwayversion_shadow",
            ["pathway_id"],
            unique=True,
            postgresql_where=sa.text("mode = 'shadow'"),
            sqlite_where=sa.text("mode = 'shadow'"),
        )
    op.create_table(
        "shadowresult",
        sa.Column("id", text, nullable=False),
        sa.Column("task_key", text, nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("patient_id", text, nullable=False),
        sa.Column("pathway_id", text, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", text, nullable=False),
        sa.Column("level", text, nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("data_time", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created", UTCDateTime(timezone=True), nullable=False),
        sa.Column("resource_id", text, nullable=True),
        sa.Column("resource_version", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("task_key"),
    )
    with op.batch_alter_table("shadowresult", schema=None) as batch_op:
        batch_op.create_index("ix_shadowresult_pathway_version", ["pathway_id", "version"])
        batch_op.create_index(batch_op.f("ix_shadowresult_patient_id"), ["patient_id"])
        batch_op.create_index(batch_op.f("ix_shadowresult_resource_id"), ["resource_id"])


def downgrade() -> None:
    op.drop_table("shadowresult")
    with op.batch_alter_table("pathwayversion", schema=None) as batch_op:
        batch_op.drop_index("ux_pathwayversion_shadow")
        batch_op.drop_column("mode")
