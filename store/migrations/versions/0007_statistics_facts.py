"""the statistics' facts: counts per pathway and Oslo day, refreshed in the background

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 14:00:00

A statistics call over a year of one pathway (1,000,000 results, 200,000 items: `make
bench-stats`) took 7 to 10 s computed from the tables themselves. It now sums daily counts
(``statday``, ``statack``, ``statgap``) that :mod:`usecases.statistics.refresh` recomputes
from those tables in the background (``statrefresh`` says when). They are derived: the
upgrade leaves them empty and the first statistics call or refresh fills them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from store.models import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString()
    op.create_table(
        "statday",
        sa.Column("pathway_id", text, nullable=False),
        sa.Column("figure", text, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("key", text, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("pathway_id", "figure", "day", "key"),
    )
    op.create_table(
        "statack",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pathway_id", text, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("level", text, nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("in_time", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_statack_pathway_day", "statack", ["pathway_id", "day"])
    op.create_table(
        "statgap",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pathway_id", text, nullable=False),
        sa.Column("patient_id", text, nullable=False),
        sa.Column("after", UTCDateTime(), nullable=True),
        sa.Column("until", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_statgap_pathway_patient", "statgap", ["pathway_id", "patient_id"])
    op.create_table(
        "statrefresh",
        sa.Column("pathway_id", text, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("took_ms", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("pathway_id"),
    )


def downgrade() -> None:
    op.drop_table("statrefresh")
    op.drop_index("ix_statgap_pathway_patient", table_name="statgap")
    op.drop_table("statgap")
    op.drop_index("ix_statack_pathway_day", table_name="statack")
    op.drop_table("statack")
    op.drop_table("statday")
