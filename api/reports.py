"""The tertial report over HTTP (issue 12): ``/api/reports/tertial``, the CSV a hospital
reports as WMGA28 (form-based digital follow-up), one row per patient followed in the
tertial, made by :func:`usecases.statistics.report.tertial_report`. Staff only, granted
pathways only; every download is audited. The national id is in this file and nowhere else
the service answers it anew; nothing of it is logged."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import Staff
from api.csv_files import OPENAPI, CsvResponse, attachment, safe_filename
from usecases.statistics.report import REPORTED_CONTACTS, tertial_report

router = APIRouter(tags=["statistics"])

HEADER = ["national_id", "pathway", "enrolled", "forms", *REPORTED_CONTACTS]


@router.get("/api/reports/tertial", response_class=CsvResponse, responses=OPENAPI)
def read_tertial_report(
    principal: Staff,
    year: Annotated[int, Query(ge=1900, le=9000, description="the calendar year")],
    tertial: Annotated[
        int, Query(ge=1, le=3, description="1: January-April, 2: May-August, 3: September-December")
    ],
    pathway: str | None = None,
) -> CsvResponse:
    """The patients followed in the tertial (Europe/Oslo), for one granted pathway or all:
    national id, pathway, enrolment date, forms answered, contacts by type
    (docs/statistics.md, "The CSV downloads")."""
    report = tertial_report(principal, year, tertial, pathway)
    rows = [
        [
            row.national_id,
            row.pathway,
            row.enrolled.isoformat(),
            row.forms,
            *(row.contacts[c] for c in REPORTED_CONTACTS),
        ]
        for row in report.rows
    ]
    name = safe_filename("wmga28", str(year), f"T{tertial}", pathway)
    return attachment(HEADER, rows, name)
