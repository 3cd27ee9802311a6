"""Operations seen from outside, on the embedded default and on PostgreSQL + Redis: the API
(``triage serve`` as a real process) and a real Celery worker share one
PROMETHEUS_MULTIPROC_DIR, write JSON logs, and

- the request id a caller chose is on the worker's log line for the upload it sent;
- the API's access lines name route templates, never a query with a national id;
- ``/metrics`` counts the posts, the triage latencies (observed in the worker), shows the
  outbox empty when all is done and the same open items per level as the worklist API;
- the worker serves its own ``/metrics`` on WORKER_METRICS_PORT; METRICS_TOKEN guards
  ``/metrics`` when set; the job functions count latencies, failures and re-sends.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from tests.conftest import ROOT, Service, _activate, _restore
from tests.integration import worker_rows as rows
from tests.integration.fhir_helpers import FNR, bearer, fnr_patient, new_fnr, sample
from usecases import periodic
from usecases.judging import job as jobs

WAIT = 90.0
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _until(check: Callable[[], Any], what: str, seconds: float = WAIT) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    pytest.fail(f"not within {seconds:.0f} s: {what}")


def _json_lines(path: Path) -> list[dict[str, Any]]:
    out = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


@dataclass
class Running:
    base: str
    api_log: Path
    worker_log: Path
    worker_metrics: str

    def metrics(self, url: str | None = None) -> Samples:
        text = httpx.get(url or f"{self.base}/metrics", timeout=10).text
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }


def _value(metrics: Samples, name: str, **labels: str) -> float:
    return sum(
        value
        for (found, got), value in metrics.items()
        if found == name and set(labels.items()) <= set(got)
    )


@pytest.fixture(scope="module")
def running(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp(f"observability-{service.name}")
    shared = {
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"),
        "LOG_FORMAT": "json",
        "WORKER_METRICS_PORT": str(_free_port()),
    }
    (tmp / "metrics").mkdir()
    with pytest.MonkeyPatch.context() as patch:  # only for the worker process started here
        for key, value in shared.items():
            patch.setenv(key, value)
        service.start_worker(tmp)
    port = _free_port()
    api_log = tmp / "api.log"
    with api_log.open("wb") as out:
        api = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env={**os.environ, **service.env, **shared, "HOST": "127.0.0.1"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if api.poll() is not None:
            pytest.fail(f"the API exited: {api_log.read_text()[-2000:]}")
        try:
            return httpx.get(f"{base}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        _until(answers, "the API answers /health")
        worker_metrics = f"http://127.0.0.1:{shared['WORKER_METRICS_PORT']}/metrics"
        yield Running(base, api_log, service.logs[-1], worker_metrics)
    finally:
        api.terminate()
        api.wait(timeout=30)
        service.stop_workers()


def _patient(base: str) -> tuple[str, str]:
    fnr = new_fnr()
    answer = httpx.post(
        f"{base}/fhir/Patient", json=fnr_patient(fnr), headers=bearer("clinician"), timeout=10
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"], fnr


def _response(patient_id: str) -> dict[str, Any]:
    body = sample("QuestionnaireResponse-epilepsy-red.json", patient_id)
    body["identifier"]["value"] = f"sub-{uuid.uuid4().hex}"
    return body


def test_the_callers_request_id_is_on_the_workers_line_for_its_upload(
    running: Running,
) -> None:
    patient_id, fnr = _patient(running.base)
    request_id = f"obs-{uuid.uuid4().hex}"
    posted = httpx.post(
        f"{running.base}/fhir/QuestionnaireResponse",
        json=_response(patient_id),
        headers={**bearer("patient", patient_id), "X-Request-ID": request_id},
        timeout=10,
    )
    assert posted.status_code == 201, posted.text
    assert posted.headers["x-request-id"] == request_id

    def triaged() -> list[dict[str, Any]]:
        return [
            line
            for line in _json_lines(running.worker_log)
            if line.get("request_id") == request_id and "triaged" in line["message"]
        ]

    (line,) = _until(triaged, f"a worker line with request_id {request_id}")
    assert line["service"] == "worker" and line["logger"] == "usecases.judging.job"

    # The access line of the post: the route template, the status, the same id.
    def access() -> list[dict[str, Any]]:
        return [
            line
            for line in _json_lines(running.api_log)
            if line.get("request_id") == request_id and line["logger"] == "triage.access"
        ]

    (entry,) = _until(access, "the access line of the post")
    assert entry["route"] == "/fhir/QuestionnaireResponse"
    assert (entry["method"], entry["status"], entry["service"]) == ("POST", 201, "api")
    assert entry["duration_ms"] >= 0

    # A search by national id: its access line names the route, and the id is nowhere.
    found = httpx.get(
        f"{running.base}/fhir/Patient",
        params={"identifier": f"{FNR}|{fnr}"},
        headers={**bearer("clinician"), "X-Request-ID": f"{request_id}-search"},
        timeout=10,
    )
    assert found.status_code == 200 and found.json()["total"] == 1
    searched = _until(
        lambda: [
            line
            for line in _json_lines(running.api_log)
            if line.get("request_id") == f"{request_id}-search"
        ],
        "the access line of the search",
    )
    assert [line["route"] for line in searched] == ["/fhir/Patient"]
    assert fnr not in running.api_log.read_text() + running.worker_log.read_text()
    assert "GET /fhir/Patient?" not in running.api_log.read_text()  # uvicorn's access log


def test_metrics_count_posts_latencies_depth_and_open_items(running: Running) -> None:
    posts = 4
    before = running.metrics()
    route = {"method": "POST", "route": "/fhir/QuestionnaireResponse", "status": "201"}
    names: list[str] = []
    for _ in range(posts):
        patient_id, fnr = _patient(running.base)
        names.append(fnr)
        answer = httpx.post(
            f"{running.base}/fhir/QuestionnaireResponse",
            json=_response(patient_id),
            headers=bearer("patient", patient_id),
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
    assert httpx.get(f"{running.base}/no/such/page", timeout=10).status_code == 404
    too_big = httpx.post(
        f"{running.base}/fhir/Observation",
        content=b"{" + b" " * 2_100_000 + b"}",
        headers={**bearer("clinician"), "Content-Type": "application/fhir+json"},
        timeout=30,
    )
    assert too_big.status_code == 413

    def worklist() -> dict[str, float]:
        answer = httpx.get(f"{running.base}/api/worklist", headers=bearer("clinician"), timeout=10)
        return {level: float(count) for level, count in answer.json()["counts"].items()}

    def shown(metrics: Samples) -> dict[str, float]:
        return {
            level: _value(metrics, "triage_worklist_open_items", level=level)
            for level in ("red", "yellow", "green")
        }

    def settled() -> Samples | None:
        # The database gauges are cached a few seconds: poll until they show the end state.
        now = running.metrics()
        triaged = _value(now, "triage_latency_seconds_count") - _value(
            before, "triage_latency_seconds_count"
        )
        red_before = shown(before)["red"]
        done = triaged >= posts and _value(now, "triage_outbox_depth") == 0
        return now if done and shown(now)["red"] >= red_before + posts else None

    metrics = _until(settled, "every post triaged, the outbox empty, the items counted")
    assert shown(metrics) == worklist()  # the same open items per level as the worklist API
    assert _value(metrics, "triage_outbox_depth") == 0
    assert _value(metrics, "triage_http_requests_total", **route) >= posts + _value(
        before, "triage_http_requests_total", **route
    )
    assert _value(metrics, "triage_http_request_duration_seconds_count", method="POST") >= posts
    assert _value(metrics, "triage_http_requests_total", route="unmatched", status="404") >= 1
    assert (
        _value(metrics, "triage_http_requests_total", route="/fhir/Observation", status="413") >= 1
    )
    assert _value(metrics, "triage_workers_alive") == 1
    assert 0 <= _value(metrics, "triage_worker_heartbeat_age_seconds") < 60

    # The worker's own /metrics (a worker on another machine): the same latencies.
    own = running.metrics(running.worker_metrics)
    assert _value(own, "triage_latency_seconds_count") >= posts
    text = httpx.get(f"{running.base}/metrics", timeout=10).text
    assert not [fnr for fnr in names if fnr in text]


def test_metrics_need_the_token_when_one_is_set(service: Service) -> None:
    previous = _activate({"METRICS_TOKEN": "scrape-secret-for-tests"})
    try:
        with TestClient(create_app()) as client:
            refused = client.get("/metrics")
            wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
            allowed = client.get(
                "/metrics", headers={"Authorization": "Bearer scrape-secret-for-tests"}
            )
    finally:
        _restore(previous)
    assert refused.status_code == wrong.status_code == 401
    assert allowed.status_code == 200
    assert "triage_outbox_depth" in allowed.text
    assert allowed.headers["content-type"].startswith("text/plain")


def test_the_worker_counts_latencies_failures_and_resends(service: Service) -> None:
    # The job functions in this process (not in multiprocess mode): its own registry.
    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    pid = rows.patient()
    (_,), done_box = rows.store(pid, rows.response(pid, rows.epilepsy_answers(1), NOW))
    latencies = value("triage_latency_seconds_count")
    assert jobs.triage_outbox(done_box) == "done"
    assert jobs.triage_outbox(done_box) == "already-done"  # nothing new committed
    assert value("triage_latency_seconds_count") == latencies + 1

    (_,), failed_box = rows.store(pid, rows.response(pid, rows.epilepsy_answers(2), NOW))
    failed = value("triage_tasks_failed_total", reason="internal")
    jobs.record_failure(failed_box, "internal", 6, "RuntimeError")
    jobs.record_failure(failed_box, "internal", 6, "RuntimeError")  # already shown: not again
    assert value("triage_tasks_failed_total", reason="internal") == failed + 1

    (_,), lost_box = rows.store(pid, rows.response(pid, rows.epilepsy_answers(3), NOW))
    resent = value("triage_outbox_resent_total")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)  # never handed over, 1 min old
    assert periodic.resend_outbox(now=later) >= 1
    assert value("triage_outbox_resent_total") >= resent + 1
    assert rows.outbox_row(lost_box).dispatched_at is not None


def test_the_dispatch_threads_lines_name_the_request_that_stored_the_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The API hands outbox rows to the broker from a background thread; when the broker is
    away, that thread's warning still carries the id of the request that stored the row."""
    import io
    import logging

    from messaging import celery_app
    from messaging import dispatch as dispatch_module
    from runtime.logs import JsonFormatter, request_context
    from runtime.settings import Settings, get_settings

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("api"))
    monkeypatch.setattr(dispatch_module.log, "handlers", [handler])
    monkeypatch.setattr(dispatch_module.log, "propagate", False)
    celery_app.use(Settings(redis_url="redis://127.0.0.1:1/0"))  # nothing listens on port 1
    try:
        with request_context("req-dispatch-7"):
            dispatch_module.dispatch_soon([987654], "req-dispatch-7")
        deadline = time.monotonic() + 30
        while "left for re-send" not in stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        celery_app.use(get_settings())
    [line] = [json.loads(x) for x in stream.getvalue().splitlines() if "re-send" in x]
    assert line["request_id"] == "req-dispatch-7"
    assert line["service"] == "api" and line["level"] == "WARNING"
