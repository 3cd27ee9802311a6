"""FHIR reads of the patients' form tasks (docs/tasks.md): ``GET /fhir/Task`` (search by
``patient`` and ``status``) and ``GET /fhir/Task/{id}``. Who may read what and the audit
are :mod:`usecases.tasks.read`'s."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.auth import CurrentPrincipal
from api.fhir_read import _fhir, _searchset
from usecases.tasks.read import read_task, search_tasks

router = APIRouter()


@router.get("/Task")
def search(
    principal: CurrentPrincipal, patient: str | None = None, status: str | None = None
) -> JSONResponse:
    """Form tasks of a patient (``patient=Patient/ID``; a patient token its own), as a
    searchset Bundle; ``status`` narrows (``ready``, ``completed``, ``cancelled``)."""
    return _fhir(_searchset(search_tasks(principal, patient, status)))


@router.get("/Task/{task_id}")
def read(task_id: str, principal: CurrentPrincipal) -> Any:
    """A form task by id."""
    found = read_task(principal, task_id)
    return _fhir(found, headers={"ETag": f'W/"{found["meta"]["versionId"]}"'})
