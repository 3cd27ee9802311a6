"""The web form for patients without an app (issue 14): the signed link, the form read from
the stored Questionnaire, and its submission through the same ingest as the API."""

from usecases.patient_form.form import (
    FORM_TASK_SYSTEM,
    FormClosed,
    FormView,
    Outcome,
    load_task,
    open_form,
    outcome,
    submit_form,
)
from usecases.patient_form.link import FormTaskView, form_link, make_token, read_token

__all__ = [
    "FORM_TASK_SYSTEM",
    "FormClosed",
    "FormTaskView",
    "FormView",
    "Outcome",
    "form_link",
    "load_task",
    "make_token",
    "open_form",
    "outcome",
    "read_token",
    "submit_form",
]
