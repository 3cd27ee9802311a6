"""A patient's page as HTML, on the embedded default and on PostgreSQL + Redis: identical
results in a row shown once with a count, and answers shown with the option text the
patient saw, not its code."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from fastapi.testclient import TestClient

from store.db import session_scope
from store.models import Enrolment, Resource, TriageResult, new_id
from tests.integration.api_rows import add_patient, unique
from tests.integration.web_helpers import (
    EPILEPSY_FORM,
    OSLO_CLOCK,
    patient_with_answers_and_glucose,
    signed_in,
    visible_text,
)


def _store_result(
    patient_id: str,
    level: str,
    data_time: dt.datetime,
    *,
    kind: str = "upload",
    version: int = 1,
    reasons: Sequence[str] = (),
    undecided: list[dict[str, Any]] | None = None,
    made: dt.timedelta = dt.timedelta(seconds=2),
) -> str:
    result_id = new_id("tr")
    with session_scope() as session:
        session.add(
            TriageResult(
                id=result_id,
                task_key=f"{result_id}:epilepsy",
                patient_id=patient_id,
                pathway_id="epilepsy",
                version=version,
                sha256="cd" * 32,
                level=level,
                kind=kind,
                result={
                    "level": level,
                    "reasons": [{"rule": "r", "level": level, "text": t} for t in reasons],
                    "undecided": undecided or [],
                },
                sources=[],
                data_time=data_time,
                created=data_time + made,
                resource_id=new_id("qr") if kind == "upload" else None,
                resource_version=1 if kind == "upload" else None,
            )
        )
    return result_id


def _history(html: str) -> str:
    return html[html.index('id="h-history"') : html.index('id="h-answers"')]


def test_identical_consecutive_results_show_once_with_a_count_and_undecided_rules(
    anonymous: TestClient,
) -> None:
    patient_id = add_patient("Ida Identisk")
    with session_scope() as session:
        session.add(Enrolment(patient_id=patient_id, pathway_id="epilepsy", thresholds={}))
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=3)
    undecided = {
        "rule": "side-effects-severe",
        "level": "red",
        "lacking": ["side-effects"],
        "text": "Ikke avgjort: side-effects-severe mangler side-effects",
    }
    for hours in range(4):  # four the same, oldest first
        _store_result(
            patient_id,
            "yellow",
            start + dt.timedelta(hours=hours),
            reasons=["1 anfall siden sist"],
            undecided=[undecided],
        )
    _store_result(patient_id, "red", start + dt.timedelta(days=1), reasons=["5 anfall"])
    _store_result(
        patient_id,
        "red",
        start + dt.timedelta(days=1),
        kind="rejudge",
        version=2,
        reasons=["5 anfall"],
        made=dt.timedelta(hours=2),  # judged again later, of the same data
    )
    signed_in(anonymous)
    history = _history(anonymous.get(f"/app/patients/{patient_id}").text)
    rows = re.findall(r"<tr class=\"result-[a-z]+\">(.*?)</tr>", history, re.S)
    assert len(rows) == 3, [visible_text(r) for r in rows]
    rejudged, red, repeated = (visible_text(r) for r in rows)
    assert "Vurdert på nytt med versjon 2" in rejudged and "v2" in rejudged
    assert "Vurdert på nytt" not in red and "vurdert" in red  # an upload: when it was judged
    assert history.count("×4") == 1 and "×4" in rows[2]
    assert history.count("1 anfall siden sist") == 1
    first, last = (t.astimezone(OSLO_CLOCK) for t in (start, start + dt.timedelta(hours=3)))
    assert f"{first:%d.%m.%Y %H:%M} – {last:%d.%m.%Y %H:%M}" in repeated  # the time span
    assert re.search(
        r'<li class="undecided">.*Ikke avgjort: side-effects-severe mangler side-effects', rows[2]
    )
    assert "4 like resultater på rad" in repeated  # the count in words for a screen reader


def test_answers_show_the_option_text_the_patient_saw_not_its_code(
    anonymous: TestClient,
) -> None:
    patient_id = patient_with_answers_and_glucose()
    version = unique("v")
    loinc = "http://loinc.org"
    options = [
        {"valueCoding": {"system": loinc, "code": code, "display": display}}
        for code, display in [
            ("LA6568-5", "Ikke i det hele tatt"),
            ("LA6570-1", "Nesten hver dag"),
            ("LA6571-9", "Mer enn halvparten av dagene"),
        ]
    ]
    questionnaire = {
        "resourceType": "Questionnaire",
        "url": EPILEPSY_FORM,
        "version": version,
        "status": "active",
        "item": [
            {
                "linkId": "tired",
                "text": "Hvor ofte har du vært trett?",
                "type": "choice",
                "answerOption": options,
            },
            {
                "linkId": "when",
                "text": "Når kom anfallene?",
                "type": "choice",
                "repeats": True,
                "answerOption": options,
            },
            {"linkId": "new-seizure-type", "text": "Ny type anfall?", "type": "boolean"},
        ],
    }
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": f"{EPILEPSY_FORM}|{version}",
        "subject": {"reference": f"Patient/{patient_id}"},
        "authored": dt.datetime.now(dt.UTC).isoformat(),
        "item": [
            {"linkId": "tired", "answer": [{"valueCoding": {"system": loinc, "code": "LA6570-1"}}]},
            {
                "linkId": "when",
                "answer": [
                    {"valueCoding": {"system": loinc, "code": "LA6568-5"}},
                    {"valueCoding": {"system": loinc, "code": "LA6571-9"}},
                ],
            },
            {"linkId": "new-seizure-type", "answer": [{"valueBoolean": False}]},
        ],
    }
    with session_scope() as session:
        # The form with this version, and a newer one without it that must not be used.
        for body, received in [
            (questionnaire, 1),
            ({**questionnaire, "version": "x", "item": []}, 2),
        ]:
            session.add(
                Resource(
                    id=new_id("q"),
                    resource_type="Questionnaire",
                    canonical_url=EPILEPSY_FORM,
                    body=body,
                    received_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=received),
                )
            )
        session.add(
            Resource(
                id=new_id("qr"),
                resource_type="QuestionnaireResponse",
                patient_id=patient_id,
                canonical_url=EPILEPSY_FORM,
                body=response,
                data_time=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1),
            )
        )
    signed_in(anonymous)
    html = anonymous.get(f"/app/patients/{patient_id}").text
    answers = html[html.index('id="h-answers"') : html.index('id="h-readings"')]
    assert re.search(r"Hvor ofte har du vært trett\?</th><td>Nesten hver dag</td>", answers)
    assert "LA6570-1" not in answers and "LA6568-5" not in answers
    repeated = re.search(r"Når kom anfallene\?</th><td>(.*?)</td>", answers, re.S)
    assert repeated is not None
    assert re.findall(r"<li>(.*?)</li>", repeated.group(1)) == [
        "Ikke i det hele tatt",
        "Mer enn halvparten av dagene",
    ]
    assert re.search(r"Ny type anfall\?</th><td>Nei</td>", answers)
    english = anonymous.get(f"/app/patients/{patient_id}", params={"lang": "en"}).text
    assert re.search(r"Ny type anfall\?</th><td>No</td>", english)
