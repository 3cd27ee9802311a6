"""the periods of follow-up of each enrolment

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:00:00

An enrolment is one row per patient and pathway; enrolling again after an end moved its
``enrolled_at``, so the statistics lost the earlier span. From now on each span is a row
of ``enrolmentperiod`` (start, end NULL while open), written by the enrolment use cases.

Back-fill: one period per existing enrolment, from ``enrolled_at``; open if the enrolment
is active, else ended at the newest ``enrolment.end`` audit row at or after that start (by
its actor), else at the start itself (the rule the statistics used until now). Earlier
spans of re-enrolled patients were never stored and cannot be recovered.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import store.models

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_enrolment = sa.table(
    "enrolment",
    sa.column("id", sa.Integer()),
    sa.column("patient_id", sa.String()),
    sa.column("pathway_id", sa.String()),
    sa.column("enrolled_at"),
    sa.column("enrolled_by", sa.String()),
    sa.column("active", sa.Boolean()),
)
_audit = sa.table(
    "auditevent",
    sa.column("id", sa.Integer()),
    sa.column("at"),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("patient_id", sa.String()),
    sa.column("target", sa.String()),
)
_period = sa.table(
    "enrolmentperiod",
    sa.column("enrolment_id", sa.Integer()),
    sa.column("patient_id", sa.String()),
    sa.column("pathway_id", sa.String()),
    sa.column("started_at"),
    sa.column("ended_at"),
    sa.column("started_by", sa.String()),
    sa.column("ended_by", sa.String()),
)


def upgrade() -> None:
    op.create_table(
        "enrolmentperiod",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("pathway_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("started_at", store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("ended_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(["enrolment_id"], ["enrolment.id"]),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("enrolmentperiod", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enrolmentperiod_enrolment_id"), ["enrolment_id"], unique=False
        )
        batch_op.create_index(
            "ix_enrolmentperiod_pathway_started", ["pathway_id", "started_at"], unique=False
        )
        batch_op.create_index(
            "ux_enrolmentperiod_open",
            ["enrolment_id"],
            unique=True,
            postgresql_where=sa.text("ended_at IS NULL"),
            sqlite_where=sa.text("ended_at IS NULL"),
        )
    _backfill()


def _backfill() -> None:
    e, a = _enrolment.c, _audit.c
    ends = sa.select(a.at, a.actor).where(
        a.action == "enrolment.end",
        a.patient_id == e.patient_id,
        a.target == e.pathway_id,
        a.at >= e.enrolled_at,
    )
    last_end = ends.order_by(a.at.desc(), a.id.desc()).limit(1)
    ended = sa.case(
        (e.active.is_(True), sa.null()),
        else_=sa.func.coalesce(last_end.with_only_columns(a.at).scalar_subquery(), e.enrolled_at),
    )
    ended_by = sa.case(
        (e.active.is_(True), sa.null()),
        else_=last_end.with_only_columns(a.actor).scalar_subquery(),
    )
    started = (e.id, e.patient_id, e.pathway_id, e.enrolled_at)
    rows = sa.select(*started, ended, e.enrolled_by, ended_by)
    columns = [
        "enrolment_id",
        "patient_id",
        "pathway_id",
        "started_at",
        "ended_at",
        "started_by",
        "ended_by",
    ]
    op.execute(_period.insert().from_select(columns, rows))


def downgrade() -> None:
    with op.batch_alter_table("enrolmentperiod", schema=None) as batch_op:
        batch_op.drop_index("ux_enrolmentperiod_open")
        batch_op.drop_index("ix_enrolmentperiod_pathway_started")
        batch_op.drop_index(batch_op.f("ix_enrolmentperiod_enrolment_id"))
    op.drop_table("enrolmentperiod")
