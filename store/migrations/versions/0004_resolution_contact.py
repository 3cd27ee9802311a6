"""the contact recorded when an item is resolved

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 11:30:00

Resolving a worklist item may record what contact actually happened (``none``,
``digital``, ``phone``, ``video``, ``physical``): the ground truth for the statistics of
visits avoided. Items resolved before this migration have none recorded.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "worklistitem", sa.Column("contact", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("worklistitem") as batch:
        batch.drop_column("contact")
