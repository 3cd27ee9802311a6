"""form tasks: a FHIR Task per patient, pathway and due time of the schedule

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10 09:00:00

``formtask`` holds the patients' questionnaire tasks (docs/tasks.md); the UNIQUE key
(patient, pathway, due) makes the periodic job that creates them idempotent.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from store.models import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString()
    op.create_table(
        "formtask",
        sa.Column("id", text, nullable=False),
        sa.Column("patient_id", text, nullable=False),
        sa.Column("pathway_id", text, nullable=False),
        sa.Column("due", UTCDateTime(timezone=True), nullable=False),
        sa.Column("until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("questionnaire_url", text, nullable=False),
        sa.Column("questionnaire_version", text, nullable=True),
        sa.Column("status", text, nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("created", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated", UTCDateTime(timezone=True), nullable=False),
        sa.Column("response_id", text, nullable=True),
        sa.Column("answered_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("patient_id", "pathway_id", "due", name="uq_formtask_patient_due"),
    )
    with op.batch_alter_table("formtask", schema=None) as batch_op:
        batch_op.create_index("ix_formtask_patient_status", ["patient_id", "status"])
        batch_op.create_index("ix_formtask_pathway_status_due", ["pathway_id", "status", "due"])


def downgrade() -> None:
    op.drop_table("formtask")
