"""indexes for the statistics of issue 12

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 12:00:00

The statistics of one pathway over a year (1,000,000 results, 200,000 items: `make
bench-stats`) look up the items a result put on the worklist (``worklistevent.result_id``),
when each enrolment ended (``auditevent`` by patient and action), and a patient's physical
visits in a pathway by time (``worklistitem`` by patient, pathway and resolution time).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_worklistevent_result_id", "worklistevent", ["result_id"])
    op.create_index("ix_auditevent_patient_action", "auditevent", ["patient_id", "action", "at"])
    op.create_index(
        "ix_worklistitem_patient_pathway_resolved",
        "worklistitem",
        ["patient_id", "pathway_id", "resolved_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_worklistitem_patient_pathway_resolved", table_name="worklistitem")
    op.drop_index("ix_auditevent_patient_action", table_name="auditevent")
    op.drop_index("ix_worklistevent_result_id", table_name="worklistevent")
