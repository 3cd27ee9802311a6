"""The patients' form tasks (issue 14, docs/tasks.md): FHIR ``Task`` resources (SDC
``complete-questionnaire``) created when a scheduled questionnaire falls due, completed by
its response, cancelled when the follow-up ends."""

from usecases.tasks.create import create_due_tasks
from usecases.tasks.lifecycle import (
    cancel_for_enrolment,
    complete_for_response,
    on_task_ready,
    task_of,
)
from usecases.tasks.waiting import Waiting, waiting

__all__ = [
    "Waiting",
    "cancel_for_enrolment",
    "complete_for_response",
    "create_due_tasks",
    "on_task_ready",
    "task_of",
    "waiting",
]
