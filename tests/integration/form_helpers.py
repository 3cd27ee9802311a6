"""What the patient form's tests share: a stand-in for the form tasks (the join point
``usecases.patient_form.form.load_task``, wired to the FormTask table at merge), a stored
Questionnaire, a client with an address of its own, a link, and the form's field names read
from the page."""

from __future__ import annotations

import datetime as dt
import html as html_text
import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.app import create_app
from store.db import session_scope
from store.models import Resource, new_id
from tests.integration.web_helpers import token
from usecases.patient_form import FORM_TASK_SYSTEM, FormTaskView, form_link
from usecases.patient_form import form as form_module


class Tasks:
    """Form tasks kept in a dict, served to the form through the join point."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.rows: dict[str, FormTaskView] = {}
        monkeypatch.setattr(form_module, "load_task", self.load)

    def load(self, session: Session, task_id: str) -> FormTaskView | None:
        return self.rows.get(task_id)

    def add(
        self,
        patient_id: str,
        questionnaire: dict[str, Any],
        ends_in: dt.timedelta = dt.timedelta(days=14),
        status: str = "ready",
    ) -> FormTaskView:
        end = dt.datetime.now(dt.UTC).replace(microsecond=0) + ends_in
        task = FormTaskView(
            new_id("t"), patient_id, questionnaire["url"], questionnaire.get("version"), end, status
        )
        self.rows[task.task_id] = task
        return task

    def link(self, task: FormTaskView) -> str:
        return form_link(task)


def publish(client: TestClient, questionnaire: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {token(role='author')}"}
    response = client.post(
        "/fhir/Questionnaire",
        json=questionnaire,
        headers=headers | {"Content-Type": "application/fhir+json"},
    )
    assert response.status_code in (200, 201), response.text


def field_names(html: str) -> dict[str, str]:
    """Each question's text (without the required note) -> its field's name, from the page."""
    out: dict[str, str] = {}
    for field_id, text in re.findall(r'<label for="(f\d+)">([^<]+)', html):
        out[html_text.unescape(text.strip())] = field_id
    for field_id, text in re.findall(
        r'<fieldset class="question[^"]*" id="(f\d+)"[^>]*>\s*<legend>([^<]+)', html
    ):
        out[html_text.unescape(text.strip())] = field_id
    return out


def stored_response(task_id: str) -> Resource | None:
    with session_scope() as session:
        return session.exec(
            select(Resource).where(
                Resource.resource_type == "QuestionnaireResponse",
                Resource.dedup_key == f"identifier={FORM_TASK_SYSTEM}|{task_id}",
            )
        ).first()


@contextmanager
def form_client(form: dict[str, Any]) -> Iterator[TestClient]:
    """A client from an address of its own (the form's failures are counted per address),
    the Questionnaire ``form`` stored."""
    address = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    with TestClient(create_app(), follow_redirects=False, client=(address, 50000)) as client:
        publish(client, form)
        yield client
