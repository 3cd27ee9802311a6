"""Tables of pathway versions on trial (issue 13): the results of a pathway's shadow
version, judged beside the version in force (docs/judging.md, "Shadow versions"), and the
jobs that replay a draft on stored uploads (docs/replay.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from store.models import _json, _time, utcnow

__all__ = ["ReplayJob", "ShadowResult"]


class ShadowResult(SQLModel, table=True):
    """One upload judged with a pathway's shadow version, beside its active result. A table
    of its own, so no reader of triage results (worklist, patient, statistics) can meet one.
    ``task_key`` (``shadow:outbox:resource:version:pathway``) is UNIQUE."""

    __table_args__ = (Index("ix_shadowresult_pathway_version", "pathway_id", "version"),)

    id: str = Field(primary_key=True)
    task_key: str = Field(unique=True)
    outbox_id: int | None = None
    patient_id: str = Field(foreign_key="patient.id", index=True)
    pathway_id: str
    version: int
    sha256: str
    level: str
    result: dict[str, Any] = _json(nullable=False)
    sources: list[dict[str, str]] = _json(nullable=False)
    data_time: dt.datetime | None = _time(nullable=True)
    created: dt.datetime = _time(nullable=False, default=utcnow)
    resource_id: str | None = Field(default=None, index=True)
    resource_version: int | None = None


class ReplayJob(SQLModel, table=True):
    """A draft pathway replayed on the stored uploads of a period (docs/replay.md): asked
    for through the API, run by the worker. ``status`` is queued, running, done or failed;
    the report is stored when done. A job run again recomputes from scratch."""

    id: str = Field(primary_key=True)
    pathway_id: str = Field(index=True)
    version: int
    sha256: str
    text: str = Field(sa_column=Column(Text, nullable=False))
    period_start: dt.datetime = _time(nullable=False)
    period_end: dt.datetime = _time(nullable=False)
    period_text: str
    status: str = "queued"
    requested_by: str
    created: dt.datetime = _time(nullable=False, default=utcnow)
    started_at: dt.datetime | None = _time(nullable=True)
    finished_at: dt.datetime | None = _time(nullable=True)
    attempts: int = 0
    done_uploads: int = 0
    total_uploads: int = 0
    report: dict[str, Any] | None = _json(nullable=True)
    error: str | None = Field(default=None, sa_column=Column(Text))
