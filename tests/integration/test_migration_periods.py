"""Migration 0006 back-fills one period of follow-up per existing enrolment, on a database
of its own (a SQLite file, a PostgreSQL schema): open while the enrolment is active, else
ended at the newest ``enrolment.end`` audit row at or after its start, else at its start;
and its downgrade takes the table away again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlmodel import Session, col, select

from store.db import MIGRATIONS, make_engine
from store.models import AuditEvent, Enrolment, EnrolmentPeriod, Patient
from tests.conftest import _postgres_schema


def day(month: int, d: int) -> dt.datetime:
    return dt.datetime(2026, month, d, 9, 30, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
        return
    found, drop = _postgres_schema()
    yield found
    drop()


def alembic(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def history(session: Session) -> dict[str, int]:
    """A active (an end of an earlier follow-up before its start); B ended twice after its
    start (the newest counts; an end before its start and one in another pathway do not);
    C inactive without any end row."""
    ids = {}
    for name, start, active in (
        ("a", day(1, 1), True),
        ("b", day(2, 1), False),
        ("c", day(3, 1), False),
    ):
        patient = f"p-migr-{name}"
        session.add(Patient(id=patient, name="Testpasient Syntetisk", resource={}))
        session.flush()
        row = Enrolment(
            patient_id=patient,
            pathway_id="wrist",
            thresholds={},
            enrolled_at=start,
            enrolled_by=f"dr-start-{name}",
            active=active,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        ids[name] = row.id
    ends = [
        ("a", "wrist", day(1, 1) - dt.timedelta(days=3), "dr-old"),
        ("b", "wrist", day(1, 10), "dr-old"),
        ("b", "wrist", day(3, 1), "dr-first"),
        ("b", "wrist", day(3, 5), "dr-last"),
        ("b", "epilepsy", day(3, 9), "dr-other"),
    ]
    for name, pathway, at, actor in ends:
        end = AuditEvent(actor=actor, role="clinician", action="enrolment.end", detail={})
        end.patient_id, end.target, end.at = f"p-migr-{name}", pathway, at
        session.add(end)
    return ids


def test_0006_backfills_one_period_per_enrolment_and_downgrades(url: str) -> None:
    config = alembic(url)
    command.upgrade(config, "0005")
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            ids = history(session)
            session.commit()
        command.upgrade(config, "head")
        with Session(engine) as session:
            query = select(EnrolmentPeriod).order_by(col(EnrolmentPeriod.enrolment_id))
            found = [
                (
                    p.enrolment_id,
                    p.patient_id,
                    p.pathway_id,
                    p.started_at,
                    p.ended_at,
                    p.started_by,
                    p.ended_by,
                )
                for p in session.exec(query)
            ]
        assert found == [
            (ids["a"], "p-migr-a", "wrist", day(1, 1), None, "dr-start-a", None),
            (ids["b"], "p-migr-b", "wrist", day(2, 1), day(3, 5), "dr-start-b", "dr-last"),
            (ids["c"], "p-migr-c", "wrist", day(3, 1), day(3, 1), "dr-start-c", None),
        ]
        command.downgrade(config, "0005")
        assert "enrolmentperiod" not in sa.inspect(engine).get_table_names()
        command.upgrade(config, "head")  # and up again: the same periods
        with Session(engine) as session:
            assert len(session.exec(select(EnrolmentPeriod)).all()) == 3
    finally:
        engine.dispose()
