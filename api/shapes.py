"""The JSON the clinicians' API and the patient app's result call answer with, as OpenAPI
schemas: what a client developer reads in ``/docs``, and what the schemathesis run checks
every answer against. The routes build plain dicts (``api/schemas.py``); these models only
describe them, so a field added there and forgotten here shows as undocumented, never lost.
Times are ISO 8601 strings with an offset."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas import LevelName, StatusName


class PatientBrief(BaseModel):
    id: str
    identifier: str | None = Field(description="system|value, the national id")
    name: str | None


class Who(BaseModel):
    by: str
    at: str | None


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
    note: str | None


class Worklist(BaseModel):
    items: list[WorklistItem]
    counts: dict[str, int] = Field(description="open items per level, over every page")
    next: str | None = Field(description="the cursor of the next page, or null")


class Enrolment(BaseModel):
    patient: str
    pathway: str
    thresholds: dict[str, float]
    active: bool
    enrolled_at: str | None
    enrolled_by: str | None


class Enrolments(BaseModel):
    patient: str
    enrolments: list[Enrolment]


class PatientRecord(PatientBrief):
    created: str | None
    enrolments: list[Enrolment] = Field(description="in the pathways granted to the caller")
    resource: dict[str, Any] = Field(description="the FHIR Patient as stored")


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


class SubmissionLevel(BaseModel):
    pathway: str
    level: LevelName
    patient_message: str | None
    version: int


class SubmissionResult(BaseModel):
    status: Literal["done", "failed"]
    results: list[SubmissionLevel]
    message: str | None = Field(default=None, description="when triage failed: for the patient")


class Pending(BaseModel):
    status: Literal["pending"]


def described(model: type[BaseModel], *more: tuple[int, type[BaseModel], str]) -> dict[str, Any]:
    """Route arguments that document the answer without filtering it at run time."""
    responses: dict[int | str, dict[str, Any]] = {200: {"model": model}}
    for status, extra, text in more:
        responses[status] = {"model": extra, "description": text}
    return {"response_model": None, "responses": responses}
