"""A form task as FHIR R4 JSON: a ``Task`` of the SDC task code ``complete-questionnaire``
(http://hl7.org/fhir/uv/sdc/CodeSystem/temp), naming the Questionnaire by canonical
``url|version`` in ``focus`` and ``input``, for the Patient, owned by the clinic, to be
answered in ``restriction.period``; a completed one names its response in ``output``."""

from __future__ import annotations

from typing import Any

from runtime.settings import get_settings
from store.tasks import FormTask

__all__ = ["SDC_TASK_CODES", "canonical_of", "task_resource"]

SDC_TASK_CODES = "http://hl7.org/fhir/uv/sdc/CodeSystem/temp"


def _code(code: str) -> dict[str, Any]:
    return {"coding": [{"system": SDC_TASK_CODES, "code": code}]}


def canonical_of(task: FormTask) -> str:
    """The questionnaire's canonical, ``url|version`` when its version is known."""
    url = task.questionnaire_url
    return f"{url}|{task.questionnaire_version}" if task.questionnaire_version else url


def task_resource(task: FormTask) -> dict[str, Any]:
    """The task as a FHIR ``Task``."""
    settings = get_settings()
    canonical = canonical_of(task)
    period = {"start": task.due.isoformat()}
    if task.until is not None:
        period["end"] = task.until.isoformat()
    body: dict[str, Any] = {
        "resourceType": "Task",
        "id": task.id,
        "meta": {"versionId": str(task.version_id), "lastUpdated": task.updated.isoformat()},
        "status": task.status,
        "intent": "order",
        "code": _code("complete-questionnaire"),
        "focus": {"reference": canonical, "type": "Questionnaire"},
        "for": {"reference": f"Patient/{task.patient_id}"},
        "authoredOn": task.created.isoformat(),
        "lastModified": task.updated.isoformat(),
        "owner": {
            "reference": f"Organization/{settings.clinic_id}",
            "type": "Organization",
            "display": settings.clinic_name,
        },
        "restriction": {"period": period},
        "input": [{"type": _code("questionnaire"), "valueCanonical": canonical}],
    }
    if task.status == "completed" and task.response_id:
        body["output"] = [
            {
                "type": _code("questionnaire-response"),
                "valueReference": {"reference": f"QuestionnaireResponse/{task.response_id}"},
            }
        ]
    return body
