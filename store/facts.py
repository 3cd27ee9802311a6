"""The statistics' facts (docs/statistics.md, "How fresh the figures are"): counts per
pathway and Oslo calendar day, recomputed from the tables above by
:mod:`usecases.statistics.refresh` and summed into any bucket by a statistics call.

Every table here is derived: emptying it loses nothing, the next refresh rebuilds it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from store.models import UTCDateTime

__all__ = ["StatAck", "StatDay", "StatGap", "StatRefresh"]


class StatDay(SQLModel, table=True):
    """How many of ``figure`` (``results``, ``contacts``...) with ``key`` (a level, a contact,
    a rule; '' when the figure has none) fell on ``day`` in ``pathway_id``."""

    pathway_id: str = Field(primary_key=True)
    figure: str = Field(primary_key=True)
    day: dt.date = Field(primary_key=True)
    key: str = Field(primary_key=True)
    n: int


class StatAck(SQLModel, table=True):
    """First acknowledgements on ``day`` at ``level`` that took ``seconds``: ``n`` of them,
    ``in_time`` of those by the item's due time (the exact times the percentiles need)."""

    __table_args__ = (Index("ix_statack_pathway_day", "pathway_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    pathway_id: str
    day: dt.date
    level: str
    seconds: int
    in_time: int
    n: int


class StatGap(SQLModel, table=True):
    """A stretch without data from a patient in a pathway: between two consecutive times of
    data (``after``, ``until``) long enough to make the patient silent, or before the first
    (``after`` NULL) or after the last (``until`` NULL); no data at all: both NULL."""

    __table_args__ = (Index("ix_statgap_pathway_patient", "pathway_id", "patient_id"),)

    id: int | None = Field(default=None, primary_key=True)
    pathway_id: str
    patient_id: str
    after: dt.datetime | None = Field(sa_column=Column(UTCDateTime(), nullable=True))
    until: dt.datetime | None = Field(sa_column=Column(UTCDateTime(), nullable=True))


class StatRefresh(SQLModel, table=True):
    """When a pathway's facts were last counted (``at``: the time they are true of) and
    how long counting them took."""

    pathway_id: str = Field(primary_key=True)
    at: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    took_ms: int
