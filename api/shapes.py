"""The JSON the clinicians' API and the patient app's result call answer with: one Pydantic
model per answer, which the routes return (FastAPI validates and serializes it) and which
``/openapi.json`` publishes, so the document and the answers are one source. Each model is
made from what a use case returns by its ``of``. Times are ISO 8601 strings with an offset.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas import ContactName, LevelName, StatusName
from store import models as rows
from usecases.records import Submission
from usecases.worklist import Page, Shown
from usecases.worklist import Unrouted as UnroutedRows


def iso(value: dt.datetime | None) -> str | None:
    """A stored time as ISO 8601 with its offset (UTC)."""
    return value.isoformat() if value is not None else None


class PatientBrief(BaseModel):
    id: str
    identifier: str | None = Field(description="system|value, the national id")
    name: str | None

    @staticmethod
    def fields_of(patient: rows.Patient) -> dict[str, Any]:
        system, value = patient.identifier_system, patient.identifier_value
        identifier = None if system is None or value is None else f"{system}|{value}"
        return {"id": patient.id, "identifier": identifier, "name": patient.name}

    @classmethod
    def of(cls, patient: rows.Patient) -> PatientBrief:
        return cls(**cls.fields_of(patient))


class Who(BaseModel):
    by: str
    at: str | None

    @classmethod
    def of(cls, by: str | None, at: dt.datetime | None) -> Who | None:
        return None if by is None else cls(by=by, at=iso(at))


class Override(BaseModel):
    level: LevelName
    reason: str | None
    by: str | None
    at: str | None


class Action(BaseModel):
    consultation: str | None = Field(description="digital, phone, video or physical")
    within: str | None = Field(description="ISO 8601 duration, such as P3D")
    due: str | None


class Newest(BaseModel):
    level: LevelName = Field(description="the level of the item's newest data")
    at: str = Field(description="the time of that data")
    result: str | None
    reasons: list[dict[str, Any]]
    undecided: list[dict[str, Any]] = Field(description="rules it could not decide")

    @classmethod
    def of(cls, newest: dict[str, Any] | None) -> Newest | None:
        """The result of the item's newest data, shown beside the level the item holds."""
        if newest is None:
            return None
        return cls(
            level=newest["level"],
            at=newest["at"],
            result=newest.get("result"),
            reasons=newest.get("reasons", []),
            undecided=newest.get("undecided", []),
        )


class WorklistItem(BaseModel):
    id: str
    patient: PatientBrief
    pathway: str
    level: LevelName = Field(description="the level the item is shown and sorted by")
    engine_level: LevelName = Field(
        description="the worst level since the item opened; it never falls by itself"
    )
    override: Override | None
    status: StatusName
    kind: Literal["triage", "overdue", "failed", "unread-form"]
    reasons: list[dict[str, Any]] = Field(description="each with the time of its data (at)")
    action: Action
    source: list[dict[str, str]]
    ruleset: dict[str, Any] | None
    newest: Newest | None = Field(description="the result of the newest data, beside the level")
    data_time: str | None
    created: str | None
    updated: str | None
    acknowledged: Who | None
    resolved: Who | None
    contact: ContactName | None = Field(
        description="the contact that actually happened, recorded when the item was resolved;"
        " null when none was recorded"
    )
    note: str | None

    @classmethod
    def of(cls, shown: Shown) -> WorklistItem:
        """An item with the engine's level and any override beside."""
        item, patient = shown
        action = dict(item.action or {})
        override = None
        if item.override_level is not None:
            override = {
                "level": item.override_level,
                "reason": item.override_reason,
                "by": item.override_by,
                "at": iso(item.override_at),
            }
        return cls.model_validate(
            {
                "id": item.id,
                "patient": PatientBrief.of(patient),
                "pathway": item.pathway_id,
                "level": item.override_level or item.level,
                "engine_level": item.level,
                "override": override,
                "status": item.status,
                "kind": item.kind,
                "reasons": item.reasons,
                "action": {
                    "consultation": action.get("consultation"),
                    "within": action.get("within"),
                    "due": iso(item.due),
                },
                "source": item.sources,
                "ruleset": item.ruleset,
                "newest": Newest.of(item.newest),
                "data_time": iso(item.data_time),
                "created": iso(item.created),
                "updated": iso(item.updated),
                "acknowledged": Who.of(item.acknowledged_by, item.acknowledged_at),
                "resolved": Who.of(item.resolved_by, item.resolved_at),
                "contact": item.contact,
                "note": item.note,
            }
        )


class Worklist(BaseModel):
    items: list[WorklistItem]
    counts: dict[str, int] = Field(description="open items per level, over every page")
    next: str | None = Field(description="the cursor of the next page, or null")

    @classmethod
    def of(cls, page: Page) -> Worklist:
        items = [WorklistItem.of(shown) for shown in page.items]
        return cls(items=items, counts=page.counts, next=page.next)


class Enrolment(BaseModel):
    patient: str
    pathway: str
    thresholds: dict[str, int | float]
    active: bool
    enrolled_at: str | None
    enrolled_by: str | None

    @classmethod
    def of(cls, row: rows.Enrolment) -> Enrolment:
        return cls(
            patient=row.patient_id,
            pathway=row.pathway_id,
            thresholds=row.thresholds,
            active=row.active,
            enrolled_at=iso(row.enrolled_at),
            enrolled_by=row.enrolled_by,
        )


class Period(BaseModel):
    start: str | None
    end: str | None = Field(description="null while the follow-up goes on")


class EnrolmentWithPeriods(Enrolment):
    periods: list[Period] = Field(description="the spans of follow-up, oldest first")

    @classmethod
    def with_periods(
        cls, row: rows.Enrolment, periods: list[rows.EnrolmentPeriod]
    ) -> EnrolmentWithPeriods:
        return cls(
            **Enrolment.of(row).model_dump(),
            periods=[Period(start=iso(p.started_at), end=iso(p.ended_at)) for p in periods],
        )


class Enrolments(BaseModel):
    patient: str
    enrolments: list[EnrolmentWithPeriods]


class PatientRecord(PatientBrief):
    created: str | None
    enrolments: list[Enrolment] = Field(description="in the pathways granted to the caller")
    resource: dict[str, Any] = Field(description="the FHIR Patient as stored")

    @classmethod
    def of_record(cls, patient: rows.Patient, enrolments: list[rows.Enrolment]) -> PatientRecord:
        return cls(
            **PatientBrief.fields_of(patient),
            created=iso(patient.created),
            enrolments=[Enrolment.of(e) for e in enrolments],
            resource=patient.resource,
        )


class Ruleset(BaseModel):
    pathway: str
    version: int
    sha256: str


class Upload(BaseModel):
    id: str
    version: int | None


class TriageResult(BaseModel):
    id: str
    pathway: str
    level: LevelName
    kind: Literal["upload", "rejudge", "withdrawn"] = Field(
        description="an upload judged as of its own time, the newest data judged again with "
        "a new pathway version, or what was left after data was withdrawn"
    )
    reasons: list[dict[str, Any]]
    undecided: list[dict[str, Any]] = Field(description="rules left unknown by missing data")
    action: dict[str, Any] | None
    patient_message: str | None
    thresholds: dict[str, Any] = Field(description="every threshold in force, by name")
    patient_thresholds: list[Any] = Field(description="the names set for this patient")
    ruleset: Ruleset
    source: list[dict[str, str]]
    upload: Upload | None = Field(description="the upload judged (for kind upload)")
    data_time: str | None = Field(description="the time the data was judged as of")
    created: str | None

    @classmethod
    def of(cls, row: rows.TriageResult) -> TriageResult:
        """One triage result with its reasons and the ruleset that made it."""
        result = row.result or {}
        upload = None
        if row.resource_id is not None:
            upload = {"id": row.resource_id, "version": row.resource_version}
        return cls.model_validate(
            {
                "id": row.id,
                "pathway": row.pathway_id,
                "level": row.level,
                "kind": row.kind,
                "reasons": result.get("reasons", []),
                "undecided": result.get("undecided", []),
                "action": result.get("action"),
                "patient_message": result.get("patient_message"),
                "thresholds": result.get("thresholds", {}),
                "patient_thresholds": result.get("patient_thresholds", []),
                "ruleset": {
                    "pathway": row.pathway_id,
                    "version": row.version,
                    "sha256": row.sha256,
                },
                "source": row.sources,
                "upload": upload,
                "data_time": iso(row.data_time),
                "created": iso(row.created),
            }
        )


class TriageHistory(BaseModel):
    patient: str
    results: list[TriageResult] = Field(description="newest data first")


class UnroutedUpload(BaseModel):
    resourceType: str
    id: str
    patient: str | None
    questionnaire: str | None
    data_time: str | None
    received: str | None
    location: str


class FailedUpload(BaseModel):
    outbox: int
    patient: str | None
    resources: list[str]
    attempts: int
    error: str | None = Field(description="the exception's type, never patient data")
    created: str | None


class Unrouted(BaseModel):
    unrouted: list[UnroutedUpload] = Field(description="accepted data no pathway reads")
    failed: list[FailedUpload] = Field(description="uploads triage gave up on")

    @classmethod
    def of(cls, found: UnroutedRows) -> Unrouted:
        unrouted = [
            UnroutedUpload(
                resourceType=r.resource_type,
                id=r.id,
                patient=r.patient_id,
                questionnaire=r.canonical_url,
                data_time=iso(r.data_time),
                received=iso(r.received_at),
                location=f"/fhir/{r.resource_type}/{r.id}",
            )
            for r in found.resources
        ]
        failed = [
            FailedUpload.model_validate(
                {
                    "outbox": o.id,
                    "patient": o.patient_id,
                    "resources": o.resource_ids,
                    "attempts": o.attempts,
                    "error": o.last_error,
                    "created": iso(o.created),
                }
            )
            for o in found.failed
        ]
        return cls(unrouted=unrouted, failed=failed)


class SubmissionLevel(BaseModel):
    pathway: str
    level: LevelName
    patient_message: str | None
    version: int


# ``message`` is left out of the answer unless triage failed: the route answers without
# the fields left unset.
class SubmissionResult(BaseModel):
    status: Literal["done", "failed"]
    results: list[SubmissionLevel]
    message: str | None = Field(default=None, description="when triage failed: for the patient")

    @classmethod
    def of(cls, done: Submission) -> SubmissionResult:
        results = [
            {
                "pathway": r.pathway_id,
                "level": r.level,
                "patient_message": (r.result or {}).get("patient_message"),
                "version": r.version,
            }
            for r in done.results
        ]
        answer: dict[str, Any] = {"status": done.status, "results": results}
        if done.message is not None:
            answer["message"] = done.message
        return cls.model_validate(answer)


class Pending(BaseModel):
    status: Literal["pending"]
