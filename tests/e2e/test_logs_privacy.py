"""No patient data in any log: ``triage run`` on PostgreSQL + Redis (API, worker and beat as
real processes, JSON logs) loads the synthetic demo, then patients' apps post the contract's
samples and free-text answers (accepted and refused), and a clinician searches patients by
national id, reads their pages in the API and the web pages, and downloads the tertial
report (every national id followed) and the statistics as CSV. Every process's log file
and the runner's own output are then scanned for every patient's names and national id and
every free-text answer; and each line that carries a request id must be a JSON line.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from seeds.demo import generate
from seeds.people import FNR_SYSTEM
from tests.conftest import CONTRACT, REDIS_TEST_URL, _postgres_schema, _redis_flushed
from tests.integration.test_run_command import Run, _free_port

pytestmark = pytest.mark.slow
WAIT = 120.0


@pytest.fixture
def run_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    url, drop = _postgres_schema()
    _redis_flushed()
    yield {
        "ENVIRONMENT": "development",
        "LOG_FORMAT": "json",
        "PORT": str(_free_port()),
        "HOST": "127.0.0.1",
        "BROKER_DIR": str(tmp_path / "broker"),
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_TEST_URL,
    }
    drop()


def _sample(name: str, patient_id: str = "") -> dict[str, Any]:
    text = (CONTRACT / "fhir" / name).read_text(encoding="utf-8")
    return json.loads(text.replace("{patient-id}", patient_id))  # type: ignore[no-any-return]


def _free_text_response(patient_id: str, answer: str, url: str) -> dict[str, Any]:
    return {
        "resourceType": "QuestionnaireResponse",
        "identifier": {"system": "urn:test:privacy", "value": uuid.uuid4().hex},
        "questionnaire": url,
        "status": "completed",
        "subject": {"reference": f"Patient/{patient_id}"},
        "authored": "2026-11-20T10:00:00+01:00",
        "item": [{"linkId": "seizure-count", "answer": [{"valueString": answer}]}],
    }


def _secrets(extra_people: list[dict[str, Any]]) -> dict[str, str]:
    """What must never be logged, and who it belongs to."""
    found: dict[str, str] = {}
    people = [p.resource for p in generate().patients] + extra_people
    for person in people:
        who = person["identifier"][0]["value"]
        found[who] = "national id"
        for name in person["name"]:
            for given in name.get("given", []):
                found[given] = f"given name of {who}"
            found[name["family"]] = f"family name of {who}"
            found[" ".join([*name.get("given", []), name["family"]])] = f"name of {who}"
    return found


def _leaks(text: str, secrets: dict[str, str]) -> list[str]:
    out = []
    for secret, what in secrets.items():
        forms = {secret, json.dumps(secret)[1:-1]}  # as written, and \\u-escaped in JSON
        for form in forms:
            # Whole words, so "Per" does not match "Permission"; ids anywhere.
            pattern = re.escape(form) if secret.isdigit() else rf"(?<!\w){re.escape(form)}(?!\w)"
            match = re.search(pattern, text)
            if match:
                start = max(0, match.start() - 80)
                out.append(f"{what} ({secret!r}): ...{text[start : match.end() + 40]!r}")
                break
    return out


def _metric(base: str, name: str) -> float | None:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                return float(sample.value)
    return None


def test_no_patient_data_in_any_log_of_a_whole_run(run_env: dict[str, str], tmp_path: Path) -> None:
    run = Run(run_env, tmp_path)
    request_ids: list[str] = []
    free_text: list[str] = []
    try:
        base = run.wait_for("The service runs at ", 600).split()[4]
        token = run.wait_for("TOKEN=", 5).removeprefix("TOKEN=")
        staff = {"Authorization": f"Bearer {token}"}

        def rid() -> dict[str, str]:
            request_ids.append(f"privacy-{uuid.uuid4().hex}")
            return {"X-Request-ID": request_ids[-1]}

        with httpx.Client(base_url=base, timeout=30) as client:
            # The contract's patient and samples, as a registering clinician and an app.
            kari = _sample("Patient-kari.json")
            made = client.post("/fhir/Patient", json=kari, headers={**staff, **rid()})
            assert made.status_code == 201, made.text
            kari_id = made.json()["id"]
            for name in (
                "QuestionnaireResponse-epilepsy-red.json",
                "Observation-blood-pressure.json",
                "Observation-glucose-mgdl.json",
            ):
                posted = client.post(
                    f"/fhir/{name.split('-')[0]}",
                    json=_sample(name, kari_id),
                    headers={**staff, **rid()},
                )
                assert posted.status_code in (200, 201), posted.text
            # Free text: accepted (a questionnaire no pathway reads) and refused (an
            # epilepsy answer that must be a number); neither may reach a log.
            for url, status in (
                ("http://example.no/fhir/Questionnaire/diary|1", 201),
                ("http://example.no/fhir/Questionnaire/epilepsy-followup|1", 422),
            ):
                free_text.append(f"Vondt i hodet hver morgen, ring meg {uuid.uuid4().hex[:8]}")
                posted = client.post(
                    "/fhir/QuestionnaireResponse",
                    json=_free_text_response(kari_id, free_text[-1], url),
                    headers={**staff, **rid()},
                )
                assert posted.status_code == status, posted.text
            # A clinician finds each patient by national id and reads the API and the pages.
            web = httpx.Client(base_url=base, timeout=30)
            signed_in = web.post("/app/login", data={"token": token})
            assert signed_in.status_code in (200, 303), signed_in.text
            people = [p.resource for p in generate().patients] + [kari]
            for person in people:
                fnr = person["identifier"][0]["value"]
                found = client.get(
                    "/fhir/Patient",
                    params={"identifier": f"{FNR_SYSTEM}|{fnr}"},
                    headers={**staff, **rid()},
                )
                assert found.status_code == 200 and found.json()["total"] == 1, found.text
                pid = found.json()["entry"][0]["resource"]["id"]
                for path in (f"/api/patients/{pid}", f"/api/patients/{pid}/triage"):
                    read = client.get(path, headers={**staff, **rid()})
                    assert read.status_code == 200, read.text
                page = web.get(f"/app/patients/{pid}", headers=rid())
                assert page.status_code == 200 and person["name"][0]["family"] in page.text
            assert web.get("/app", headers=rid()).status_code == 200
            web.close()
            # The WMGA28 list names the patients followed by national id (and the statistics
            # as CSV): downloaded, neither may reach a log.
            today = dt.datetime.now(ZoneInfo("Europe/Oslo")).date()
            tertial = {"year": today.year, "tertial": (today.month - 1) // 4 + 1}
            listed = client.get("/api/reports/tertial", params=tertial, headers={**staff, **rid()})
            assert listed.status_code == 200, listed.text
            assert any(p["identifier"][0]["value"] in listed.text for p in people), listed.text
            period = {"from": f"{today.year}-01-01", "to": today.isoformat()}
            figures = client.get("/api/stats.csv", params=period, headers={**staff, **rid()})
            assert figures.status_code == 200, figures.text

        deadline = time.monotonic() + WAIT  # every upload triaged (the gauge is cached)
        while _metric(base, "triage_outbox_depth") != 0:
            assert time.monotonic() < deadline, "the uploads were not triaged in time"
            time.sleep(1)
    finally:
        run.proc.send_signal(signal.SIGTERM)
        try:
            run.proc.wait(timeout=60)
        finally:
            run.close()

    logs = sorted(run.logs.glob("*.log"))
    assert {path.name for path in logs} >= {"api.log", "worker.log", "beat.log"}
    texts = {path.name: path.read_text(errors="replace") for path in logs}
    texts["triage run (its own output)"] = "\n".join(run.lines)
    secrets = _secrets([kari]) | dict.fromkeys(free_text, "a free-text answer")
    leaks = [f"{name}: {leak}" for name, text in texts.items() for leak in _leaks(text, secrets)]
    assert not leaks, "patient data in the logs:\n" + "\n".join(leaks[:20])

    # Every line that carries a request id is a JSON line, and the ids got through: each
    # request has its access line, and the worker's lines name the uploads' requests.
    carried: dict[str, set[str]] = {}
    for name, text in texts.items():
        for line in text.splitlines():
            if "request_id" in line or any(r in line for r in request_ids):
                entry = json.loads(line)  # fails the test when not JSON
                assert entry["request_id"], line
                carried.setdefault(name, set()).add(entry["request_id"])
    assert set(request_ids) <= carried["api.log"]
    # (a patient's uploads waiting together are triaged in one job, under its first id)
    assert carried["worker.log"] & set(request_ids)
    # The demo's own posts (no chosen id) carry generated ids through to the worker too.
    assert len(carried["worker.log"] - set(request_ids)) >= 10
