"""The clinicians' API answers with the models /openapi.json publishes: each /api route has a
response model FastAPI serializes the answer with, and the models keep the JSON as it was
(whole numbers stay integers, an unset field stays out)."""

from __future__ import annotations

import datetime as dt
import json

from fastapi.routing import APIRoute

from api import pathways, patients, shapes, worklist
from api.app import create_app
from api.csv_files import CSV
from store import models as rows
from usecases.records import FAILED_MESSAGE, Submission

NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
CSV_DOWNLOADS = {"/api/stats.csv", "/api/reports/tertial"}  # text/csv, not a JSON model


def test_every_api_route_answers_with_its_documented_model() -> None:
    routes = [r for m in (worklist, patients, pathways) for r in m.router.routes]
    assert routes
    for route in routes:
        assert isinstance(route, APIRoute) and route.path.startswith("/api/"), route
        assert route.response_model is not None, f"{route.path} answers an undocumented shape"
    document = create_app().openapi()
    for path, operations in document["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if status.startswith("2") and path in CSV_DOWNLOADS:
                    assert answer["content"] == {CSV: {"schema": {"type": "string"}}}, path
                elif status.startswith("2"):
                    schema = answer["content"]["application/json"]["schema"]
                    assert "$ref" in schema, f"{method.upper()} {path} {status}: {schema}"


def test_own_thresholds_keep_whole_numbers_whole() -> None:
    row = rows.Enrolment(
        patient_id="p", pathway_id="epilepsy", thresholds={"a": 2, "b": 2.5}, enrolled_at=NOW
    )
    answer = json.loads(shapes.Enrolment.of(row).model_dump_json())
    assert answer == {
        "patient": "p",
        "pathway": "epilepsy",
        "thresholds": {"a": 2, "b": 2.5},
        "active": True,
        "enrolled_at": NOW.isoformat(),
        "enrolled_by": None,
    }
    assert isinstance(answer["thresholds"]["a"], int)


def test_a_submission_result_names_a_message_only_when_triage_failed() -> None:
    result = rows.TriageResult(
        id="r",
        task_key="k",
        patient_id="p",
        pathway_id="epilepsy",
        version=2,
        sha256="ab" * 32,
        level="green",
        result={},
        sources=[],
    )
    done = shapes.SubmissionResult.of(Submission("done", [result]))
    assert json.loads(done.model_dump_json(exclude_unset=True)) == {
        "status": "done",
        "results": [
            {"pathway": "epilepsy", "level": "green", "patient_message": None, "version": 2}
        ],
    }
    failed = shapes.SubmissionResult.of(Submission("failed", [], FAILED_MESSAGE))
    assert json.loads(failed.model_dump_json(exclude_unset=True)) == {
        "status": "failed",
        "results": [],
        "message": FAILED_MESSAGE,
    }
