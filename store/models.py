"""The tables. Uniqueness that matters (the same resource twice, one open worklist item per
patient and pathway, one result per task and pathway) is enforced by the database with
UNIQUE constraints, never by a search before the insert: parallel requests cannot race it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy import JSON, Column, DateTime, Index, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from runtime import clock


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Times stored in UTC and read back timezone-aware, on SQLite (which keeps no offset)
    and PostgreSQL alike. A naive time is refused: every time here has a zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a time without a time zone cannot be stored")
        utc = value.astimezone(dt.UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        when: dt.datetime = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
        return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    """The time of a business event: :func:`runtime.clock.now` (the wall clock unless a
    caller set the time for its context, as the demo history does)."""
    return clock.now()


def wall_clock() -> dt.datetime:
    """The wall clock, whatever time is set: worker heartbeats."""
    return dt.datetime.now(dt.UTC)


def new_id(prefix: str) -> str:
    """An opaque id such as ``p-3f9c...``: a prefix that says what it is, and 128 random bits."""
    return f"{prefix}-{uuid.uuid4().hex}"


def _time(**kwargs: Any) -> Any:
    return Field(sa_column=Column(UTCDateTime(), **kwargs))


def _json(**kwargs: Any) -> Any:
    return Field(sa_column=Column(JSON, **kwargs))


class Patient(SQLModel, table=True):
    """A patient; the national id (or D-number) is unique."""

    __table_args__ = (UniqueConstraint("identifier_system", "identifier_value"),)

    id: str = Field(primary_key=True)
    identifier_system: str | None = None
    identifier_value: str | None = None
    name: str | None = None
    resource: dict[str, Any] = _json(nullable=False)
    created: dt.datetime = _time(nullable=False, default=utcnow)


class Resource(SQLModel, table=True):
    """A FHIR resource as received (QuestionnaireResponse, Observation, Questionnaire).

    ``dedup_key`` is the identifier (``system|value``) or the ``If-None-Exist`` query; the
    UNIQUE constraint on (type, dedup_key) is what stores the same resource once.
    ``routed`` is None until triage has looked, then True, or False: no pathway reads it.
    The row holds the current version (``version_id``); a correction (PUT) moves the
    version it replaces to :class:`ResourceVersion`. ``withdrawn``: the current version is
    ``entered-in-error`` (or a ``cancelled`` Observation): stored and shown, never data.
    """

    __table_args__ = (
        UniqueConstraint("resource_type", "dedup_key"),
        Index("ix_resource_patient_type", "patient_id", "resource_type", "data_time"),
    )

    id: str = Field(primary_key=True)
    resource_type: str = Field(index=True)
    patient_id: str | None = Field(default=None, foreign_key="patient.id")
    dedup_key: str | None = None
    canonical_url: str | None = Field(default=None, index=True)
    body: dict[str, Any] = _json(nullable=False)
    data_time: dt.datetime | None = _time(nullable=True)
    received_at: dt.datetime = _time(nullable=False, default=utcnow)
    routed: bool | None = None
    outbox_id: int | None = Field(default=None, index=True)  # the triage work it is part of
    version_id: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    withdrawn: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


class ResourceVersion(SQLModel, table=True):
    """A version of a resource that a correction replaced, exactly as it was stored.

    The current version stays in :class:`Resource` (the first version keeps its id); this
    table only grows when a PUT arrives, so the hot path of a first POST writes nothing here.
    """

    __table_args__ = (UniqueConstraint("resource_id", "version_id"),)

    id: int | None = Field(default=None, primary_key=True)
    resource_id: str = Field(foreign_key="resource.id", index=True)
    version_id: int
    body: dict[str, Any] = _json(nullable=False)
    data_time: dt.datetime | None = _time(nullable=True)
    received_at: dt.datetime = _time(nullable=False)
    withdrawn: bool = False
    replaced_at: dt.datetime = _time(nullable=False, default=utcnow)


class Reading(SQLModel, table=True):
    """One device value (a component of a panel is its own row), for windows over time."""

    __table_args__ = (
        Index("ix_reading_patient_code_time", "patient_id", "code", "time"),
        # The few values coded several ways, found by time whatever their first coding:
        # without it, "or any coding" made the planner read all of a patient's readings.
        Index(
            "ix_reading_alt",
            "patient_id",
            "time",
            postgresql_where=sa.text("alt IS NOT NULL"),
            sqlite_where=sa.text("alt IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    resource_id: str = Field(foreign_key="resource.id", index=True)
    patient_id: str = Field(foreign_key="patient.id")
    code: str
    panel: str | None = None
    value: float
    unit: str
    time: dt.datetime = _time(nullable=False)
    # The value's other codings, when the device sent several ({"codes": [...], "panels":
    # [...]}); NULL for the usual single coding, so routing by any coding costs nothing there.
    alt: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True), nullable=True)
    )  # SQL NULL, not JSON null: "alt IS NOT NULL" must find only these few (and its index)


class Outbox(SQLModel, table=True):
    """Work for the triage worker, written in the same transaction as the data it names.

    One row per accepted upload and patient (a Bundle of 100 readings is one row), so a
    task is sent per upload, not per reading. ``dispatched_at`` is set when it was handed
    to the broker; ``done_at`` when a worker committed its results. ``kind`` is ``upload``
    (``resource_ids`` to judge, each as of its own time) or ``rejudge`` (the patient's newest
    data with ``pathway_id`` ``version``, written in the transaction that published it).
    """

    id: int | None = Field(default=None, primary_key=True)
    patient_id: str = Field(foreign_key="patient.id", index=True)
    resource_ids: list[str] = _json(nullable=False)
    created: dt.datetime = _time(nullable=False, default=utcnow)
    dispatched_at: dt.datetime | None = _time(nullable=True)
    attempts: int = 0
    done_at: dt.datetime | None = _time(nullable=True, index=True)
    failed: bool = False
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    request_id: str | None = None
    kind: str = Field(default="upload", sa_column_kwargs={"server_default": "upload"})
    pathway_id: str | None = None
    version: int | None = None


class Enrolment(SQLModel, table=True):
    """A patient in a pathway, with the patient's own thresholds."""

    __table_args__ = (UniqueConstraint("patient_id", "pathway_id"),)

    id: int | None = Field(default=None, primary_key=True)
    patient_id: str = Field(foreign_key="patient.id", index=True)
    pathway_id: str = Field(index=True)
    thresholds: dict[str, Any] = _json(nullable=False)
    enrolled_at: dt.datetime = _time(nullable=False, default=utcnow)
    enrolled_by: str | None = None
    active: bool = True


class EnrolmentPeriod(SQLModel, table=True):
    """One span of follow-up of an enrolment: opened by enrolling (or enrolling again after
    an end), closed by ending the follow-up (``ended_at`` NULL while open). An enrolment
    has at most one open period (a partial UNIQUE index); the statistics count periods, so
    a follow-up that ended and started again keeps its earlier span."""

    __table_args__ = (
        # The statistics read one pathway's periods by start.
        Index("ix_enrolmentperiod_pathway_started", "pathway_id", "started_at"),
        Index(
            "ux_enrolmentperiod_open",
            "enrolment_id",
            unique=True,
            postgresql_where=sa.text("ended_at IS NULL"),
            sqlite_where=sa.text("ended_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    enrolment_id: int = Field(foreign_key="enrolment.id", index=True)
    patient_id: str = Field(foreign_key="patient.id")
    pathway_id: str
    started_at: dt.datetime = _time(nullable=False)
    ended_at: dt.datetime | None = _time(nullable=True)
    started_by: str | None = None
    ended_by: str | None = None


class PathwayVersion(SQLModel, table=True):
    """Every published version of every pathway file, exactly as published."""

    __table_args__ = (
        UniqueConstraint("pathway_id", "version"),
        # At most one shadow version per pathway, even when two authors publish at once.
        Index(
            "ux_pathwayversion_shadow",
            "pathway_id",
            unique=True,
            postgresql_where=sa.text("mode = 'shadow'"),
            sqlite_where=sa.text("mode = 'shadow'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    pathway_id: str = Field(index=True)
    version: int
    sha256: str
    title: str
    text: str = Field(sa_column=Column(Text, nullable=False))
    published_at: dt.datetime = _time(nullable=False, default=utcnow)
    published_by: str | None = None
    # ``active``: published in force (the newest active one is in force); ``shadow``: judges
    # beside it, never for a worklist (at most one per pathway); ``retired``: a shadow
    # version replaced, or ended by an active publish, and never promoted.
    mode: str = Field(default="active", sa_column_kwargs={"server_default": "active"})


class TriageResult(SQLModel, table=True):
    """One evaluation of one patient's data with one pathway version.

    ``kind`` ``upload``: the judgement of one upload (``resource_id`` at ``resource_version``)
    as of its own time (``data_time``); ``rejudge``: the patient's newest data with a newly
    published version; ``withdrawn``: the newest data left after ``resource_id`` was
    withdrawn. ``task_key`` is UNIQUE (``outbox:resource:pathway``, or
    ``rejudge:pathway:version:patient``): a task delivered twice cannot store a second result.
    """

    id: str = Field(primary_key=True)
    task_key: str = Field(unique=True)
    outbox_id: int | None = Field(default=None, index=True)
    patient_id: str = Field(foreign_key="patient.id", index=True)
    pathway_id: str = Field(index=True)
    version: int
    sha256: str
    level: str
    result: dict[str, Any] = _json(nullable=False)
    sources: list[dict[str, str]] = _json(nullable=False)
    data_time: dt.datetime | None = _time(nullable=True)
    created: dt.datetime = _time(nullable=False, default=utcnow)
    resource_id: str | None = Field(default=None, index=True)
    resource_version: int | None = None
    kind: str = Field(default="upload", sa_column_kwargs={"server_default": "upload"})


class WorklistItem(SQLModel, table=True):
    """What a clinician works: one open item per patient and pathway.

    ``open_key`` is ``patient|pathway`` while the item is not resolved and NULL after; its
    UNIQUE constraint makes a second open item for the same patient and pathway impossible.
    ``level`` is held: the worst of ``result_level`` (the worst result since the item
    opened) and the problems on it; it never falls by itself (triage/worklist.py).
    ``newest`` is the result of the newest data, shown beside the held level.
    """

    # A patient's items in a pathway by resolution time (the statistics: a physical visit
    # within 30 days of a form).
    __table_args__ = (
        Index(
            "ix_worklistitem_patient_pathway_resolved", "patient_id", "pathway_id", "resolved_at"
        ),
    )

    id: str = Field(primary_key=True)
    open_key: str | None = Field(default=None, unique=True)
    patient_id: str = Field(foreign_key="patient.id", index=True)
    pathway_id: str = Field(index=True)
    kind: str = "triage"  # triage | overdue | failed | unread-form
    level: str  # the engine's level, held
    result_level: str | None = None
    newest: dict[str, Any] | None = _json(nullable=True)
    override_level: str | None = None
    override_reason: str | None = None
    override_by: str | None = None
    override_at: dt.datetime | None = _time(nullable=True)
    sort_rank: int = Field(index=True)  # 0 red, 1 yellow, 2 green (the clinician's level first)
    status: str = Field(default="open", index=True)
    reasons: list[dict[str, Any]] = _json(nullable=False)
    action: dict[str, Any] | None = _json(nullable=True)
    due: dt.datetime | None = _time(nullable=True)
    sources: list[dict[str, str]] = _json(nullable=False)
    ruleset: dict[str, Any] | None = _json(nullable=True)
    result_id: str | None = None
    data_time: dt.datetime | None = _time(nullable=True)
    created: dt.datetime = _time(nullable=False, default=utcnow)
    updated: dt.datetime = _time(nullable=False, default=utcnow)
    acknowledged_by: str | None = None
    acknowledged_at: dt.datetime | None = _time(nullable=True)
    resolved_by: str | None = None
    resolved_at: dt.datetime | None = _time(nullable=True)
    # The contact that actually happened, recorded when resolving (none, digital, phone,
    # video, physical); NULL: not recorded, never counted as a visit avoided.
    contact: str | None = None
    note: str | None = Field(default=None, sa_column=Column(Text))


class WorklistEvent(SQLModel, table=True):
    """The history of an item: every level change, acknowledgement, resolution, override."""

    id: int | None = Field(default=None, primary_key=True)
    item_id: str = Field(foreign_key="worklistitem.id", index=True)
    at: dt.datetime = _time(nullable=False, default=utcnow)
    actor: str
    change: str
    level: str | None = None
    # Indexed: the statistics look up the items a result put on the worklist.
    result_id: str | None = Field(default=None, index=True)
    detail: dict[str, Any] = _json(nullable=False)


class AuditEvent(SQLModel, table=True):
    """Who read or changed which patient's data, and when. Written, never updated: the
    database itself refuses UPDATE and DELETE on this table (triggers, migration 0002)."""

    # When an enrolment ended (the statistics): one patient's rows of one action, not all
    # the patient's reads.
    __table_args__ = (Index("ix_auditevent_patient_action", "patient_id", "action", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = _time(nullable=False, default=utcnow, index=True)
    actor: str
    role: str
    action: str
    patient_id: str | None = Field(default=None, index=True)
    target: str | None = None
    detail: dict[str, Any] = _json(nullable=False)


class WorkerHeartbeat(SQLModel, table=True):
    """A triage worker that is alive: each worker process writes its row every few seconds;
    ``/ready`` and the metrics read the newest ``seen_at``."""

    name: str = Field(primary_key=True)  # celery node name and process id
    started_at: dt.datetime = _time(nullable=False, default=wall_clock)
    seen_at: dt.datetime = _time(nullable=False, default=wall_clock, index=True)
