"""The tertial report (WMGA28, form-based digital follow-up): one row per patient followed
in a tertial and pathway, with the forms the patient answered and the contacts recorded
(docs/statistics.md, "The tertial report").

The rows are counted by the database (one query per pathway: the patients with a period of
follow-up in the tertial, joined with the forms and contacts aggregated per patient); only
the rows of the report come back. The national id is in the rows and nowhere else: the
audit row holds the counts, and nothing here logs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from store.db import session_scope
from store.models import UTCDateTime
from store.pathways import compiled, version_row
from usecases.access import Actor, audit, require_pathway
from usecases.errors import Unprocessable
from usecases.statistics.buckets import OSLO, Bucket, cut
from usecases.statistics.queries import TABLES, Enrolment, Item, Resource, spans

__all__ = ["REPORTED_CONTACTS", "Followed", "TertialReport", "tertial_bounds", "tertial_report"]

# The contacts a row counts, as recorded on resolving an item (not recorded: in none).
REPORTED_CONTACTS = ("none", "digital", "phone", "video", "physical")
Patient = TABLES["patient"].c


@dataclass(frozen=True, slots=True)
class Followed:
    """One patient followed in one pathway during the tertial."""

    patient_id: str  # the service's own id (not in the report: it names nobody outside)
    national_id: str | None
    pathway: str
    enrolled: dt.date  # the earliest start of its periods in the tertial, an Oslo day
    forms: int
    contacts: dict[str, int]  # by REPORTED_CONTACTS


@dataclass(frozen=True, slots=True)
class TertialReport:
    year: int
    tertial: int
    first_day: dt.date
    last_day: dt.date  # included
    pathways: list[str]
    rows: list[Followed]


def tertial_bounds(year: int, tertial: int) -> Bucket:
    """The tertial as a bucket of Oslo calendar days (1: Jan-Apr, 2: May-Aug, 3: Sep-Dec)."""
    problems = []
    if tertial not in (1, 2, 3):
        problems.append("tertial: use 1 (January-April), 2 (May-August) or 3 (September-December)")
    if not 1900 <= year <= 9000:
        problems.append("year: outside the years this service counts (1900-9000)")
    if problems:
        raise Unprocessable("the tertial cannot be reported", problems)
    first = dt.date(year, 4 * (tertial - 1) + 1, 1)
    following = dt.date(year + 1, 1, 1) if tertial == 3 else dt.date(year, first.month + 4, 1)
    return cut(first, following - dt.timedelta(days=1), "tertial")[0]


def tertial_report(
    actor: Actor, year: int, tertial: int, pathway: str | None = None
) -> TertialReport:
    """The patients followed in the tertial, in ``pathway`` (granted) or in every granted
    pathway with enrolments; the download is audited with its counts (never the rows)."""
    if pathway is not None:
        require_pathway(actor, pathway)
    bucket = tertial_bounds(year, tertial)
    with session_scope() as session:
        if pathway is not None:
            chosen = [pathway]
        else:
            enrolled = sa.select(Enrolment.pathway_id).distinct()
            found = {p for (p,) in session.execute(enrolled)}
            chosen = sorted(p for p in found if actor.may_see_pathway(p))
        rows = [row for p in chosen for row in _rows(session, bucket, p)]
        audit(
            session,
            actor,
            "report.tertial",
            None,
            target=pathway,
            year=year,
            tertial=tertial,
            pathways=chosen,
            rows=len(rows),
            patients=len({r.patient_id for r in rows}),
        )
    return TertialReport(year, tertial, bucket.first_day, bucket.last_day, chosen, rows)


def _questionnaires(session: Session, pathway: str) -> tuple[str, ...]:
    row = version_row(session, pathway)
    return compiled(row).questionnaires if row is not None else ()


def _rows(session: Session, bucket: Bucket, pathway: str) -> list[Followed]:
    start = sa.literal(bucket.start, UTCDateTime())
    end = sa.literal(bucket.end, UTCDateTime())
    e = spans(pathway)
    followed = sa.and_(e.c.started < end, sa.or_(e.c.ended.is_(None), e.c.ended >= start))
    # One row per patient: a follow-up that ended and started again in the tertial is one
    # patient followed, enrolled since the earliest start of its periods in the tertial.
    patients = (
        sa.select(e.c.patient_id, sa.func.min(e.c.started).label("started"))
        .where(followed)
        .group_by(e.c.patient_id)
        .subquery("followed")
    )

    # Forms: responses to the pathway's questionnaires, not withdrawn, in the tertial and
    # within a period of follow-up (by their authored time, else the time received).
    at = sa.func.coalesce(Resource.data_time, Resource.received_at)
    forms = (
        sa.select(e.c.patient_id, sa.func.count(sa.distinct(Resource.id)).label("n"))
        .select_from(e)
        .join(TABLES["resource"], Resource.patient_id == e.c.patient_id)
        .where(
            Resource.resource_type == "QuestionnaireResponse",
            Resource.canonical_url.in_(_questionnaires(session, pathway)),
            Resource.withdrawn.is_(False),
            at >= start,
            at < end,
            at >= e.c.started,
            sa.or_(e.c.ended.is_(None), at < e.c.ended),
        )
        .group_by(e.c.patient_id)
        .subquery("forms")
    )
    # Contacts: the pathway's items resolved in the tertial, by the contact recorded.
    contacts = (
        sa.select(
            Item.patient_id,
            *(
                sa.func.sum(sa.case((Item.contact == c, 1), else_=0)).label(f"c_{c}")
                for c in REPORTED_CONTACTS
            ),
        )
        .where(Item.pathway_id == pathway, Item.resolved_at >= start, Item.resolved_at < end)
        .group_by(Item.patient_id)
        .subquery("contacts")
    )
    query = (
        sa.select(
            patients.c.patient_id,
            Patient.identifier_value,
            patients.c.started,
            sa.func.coalesce(forms.c.n, 0),
            *(sa.func.coalesce(contacts.c[f"c_{c}"], 0) for c in REPORTED_CONTACTS),
        )
        .select_from(patients)
        .join(TABLES["patient"], Patient.id == patients.c.patient_id)
        .outerjoin(forms, forms.c.patient_id == patients.c.patient_id)
        .outerjoin(contacts, contacts.c.patient_id == patients.c.patient_id)
    )
    rows = [_row(pathway, found) for found in session.execute(query)]
    return sorted(rows, key=lambda r: (r.national_id or "", r.enrolled, r.patient_id))


def _row(pathway: str, found: Any) -> Followed:
    patient_id, national_id, started, forms, *counts = found
    return Followed(
        patient_id=patient_id,
        national_id=national_id,
        pathway=pathway,
        enrolled=started.astimezone(OSLO).date(),
        forms=int(forms),
        contacts={c: int(n) for c, n in zip(REPORTED_CONTACTS, counts, strict=True)},
    )
