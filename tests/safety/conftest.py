"""The attack suite's service and tools: a real ``triage run`` driven over HTTP only.

``triage run`` (API, Celery worker and beat as its children, the demo data loaded into
the empty database) is started ONCE PER SESSION AND BACKEND as a subprocess, and stopped
with SIGTERM at the end. Backends (``SAFETY_BACKENDS``, comma-separated, default both):

- ``embedded``: a temporary SQLite file and kombu's filesystem broker;
- ``postgres+redis``: a private schema in PostgreSQL (``TEST_POSTGRES_URL``, default
  127.0.0.1:5432 database ``test``) and a flushed Redis database of this suite's own
  (``SAFETY_REDIS_URL``, default ``redis://127.0.0.1:6379/12``, so that workers of other
  suites sharing Redis never take this suite's tasks).

Tokens: the clinician token is the one ``triage run`` prints, the author token comes from
``triage token --role author --pathways '*'``; patient tokens are signed in this process
with ``api.auth.create_token`` and the secret the service was started with (the CLI takes
almost a second per token, and the suite makes a patient per test).

Every HTTP response of the session is recorded; the session fails if any status was 500
or more (the list names the test and the request).

Run: ``.venv/bin/pytest tests/safety -q -p no:randomly`` (both backends, about 35 s each:
some 8 s to start and load the demo, then the tests); ``SAFETY_BACKENDS=embedded`` or
``SAFETY_BACKENDS=postgres+redis`` for one.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import _postgres_schema
from tests.integration.fhir_helpers import fnr_patient, new_fnr
from tests.triage_run import TRIAGE, Run

BACKENDS = [
    name.strip()
    for name in os.environ.get("SAFETY_BACKENDS", "embedded,postgres+redis").split(",")
    if name.strip()
]
REDIS_URL = os.environ.get("SAFETY_REDIS_URL", "redis://127.0.0.1:6379/12")
SECRET = f"safety-secret-{uuid.uuid4().hex}{uuid.uuid4().hex}"
FHIR_JSON = "application/fhir+json"
WAIT = 30.0  # seconds for one upload to be triaged (the worker takes well under one)
REJUDGE_WAIT = 60.0  # API.md: a new pathway version re-judges "within a minute"

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
IDENT_SYSTEM = "urn:test:safety"
FORMS = "http://example.no/fhir/Questionnaire/"
EPILEPSY = FORMS + "epilepsy-followup"
PHQ9 = FORMS + "phq-9"
COPD_CAT = FORMS + "copd-cat"
WRIST = FORMS + "wrist-fracture-followup"
SIDE_EFFECTS = "http://example.no/fhir/CodeSystem/side-effects"
NOT_AT_ALL, NEARLY_EVERY_DAY = "LA6568-5", "LA6571-9"

HF, HTN, EPI, DEP, COPD, WRIST_PATHWAY = (
    "heart-failure",
    "hypertension-home-bp",
    "epilepsy",
    "depression-phq9",
    "copd",
    "wrist-fracture",
)


# --- every response of the session, for the "no 5xx anywhere" check --------------------------


@dataclass(frozen=True)
class Seen:
    test: str
    method: str
    url: str
    status: int


@dataclass
class Recorder:
    current: str = "(session set-up)"
    seen: list[Seen] = field(default_factory=list)

    def hook(self, response: httpx.Response) -> None:
        request = response.request
        self.seen.append(Seen(self.current, request.method, str(request.url), response.status_code))

    def server_errors(self) -> list[Seen]:
        return [s for s in self.seen if s.status >= 500]


@pytest.fixture(scope="session", autouse=True)
def recorder() -> Iterator[Recorder]:
    """Every response of the session; at the end, the session fails on any 5xx."""
    seen = Recorder()
    yield seen
    errors = seen.server_errors()
    if errors:
        listed = "\n".join(f"  {e.status} {e.method} {e.url}  (in {e.test})" for e in errors)
        pytest.fail(
            f"{len(errors)} of {len(seen.seen)} responses in this session were 5xx "
            f"(API.md: no input, however odd, gets a 5xx):\n{listed}",
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def _name_the_test(recorder: Recorder, request: pytest.FixtureRequest) -> Iterator[None]:
    recorder.current = request.node.nodeid
    yield
    recorder.current = "(between tests)"


# --- the service: triage run as a subprocess ---------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _flushed_redis() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).flushdb()
    except Exception as exc:
        pytest.fail(
            f"Redis is required at {REDIS_URL} ({exc.__class__.__name__}); start it with "
            'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no'
        )


@dataclass(frozen=True)
class Patient:
    id: str
    token: str

    @property
    def ref(self) -> str:
        return f"Patient/{self.id}"


class Api:
    """The running service, as a patient app, a clinician and an author see it."""

    def __init__(self, name: str, base: str, clinician: str, author: str, recorder: Recorder):
        self.name = name
        self.base = base
        self.clinician = clinician
        self.author = author
        # No kept-alive connections: after a 5xx the server may close one, and the next
        # request must not fail on the closed socket.
        self.http = httpx.Client(
            base_url=base,
            timeout=30,
            limits=httpx.Limits(max_keepalive_connections=0),
            event_hooks={"response": [recorder.hook]},
        )

    # -- plain requests ---------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        token: str,
        *,
        body: Any = None,
        content: bytes | str | None = None,
        content_type: str | None = FHIR_JSON,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = {"Authorization": f"Bearer {token}", **(headers or {})}
        if body is not None:
            content = _json_bytes(body)
        if content is not None and content_type is not None:
            sent["Content-Type"] = content_type
        return self.http.request(method, path, content=content, params=params, headers=sent)

    def get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        return self.request("GET", path, self.clinician, params=params)

    def staff_post(self, path: str, body: Any, content_type: str = "application/json") -> Any:
        answer = self.request("POST", path, self.clinician, body=body, content_type=content_type)
        assert answer.status_code in (200, 201), f"POST {path}: {answer.status_code} {answer.text}"
        return answer.json()

    # -- patients ---------------------------------------------------------------------------

    def new_patient(
        self, *pathways: str, thresholds: dict[str, dict[str, Any]] | None = None
    ) -> Patient:
        """A new synthetic patient (a fresh national id), enrolled in ``pathways``."""
        thresholds = thresholds or {}
        for _ in range(5):
            answer = self.request("POST", "/fhir/Patient", self.clinician, body=_patient())
            assert answer.status_code in (200, 201), answer.text
            if answer.status_code == 201:  # 200: the random national id was taken already
                break
        patient_id = answer.json()["id"]
        for pathway in pathways:
            body = {"pathway": pathway, "thresholds": thresholds.get(pathway, {})}
            self.staff_post(f"/api/patients/{patient_id}/enrolments", body)
        return Patient(patient_id, patient_token(patient_id))

    # -- what a patient app sends ------------------------------------------------------------

    def send(
        self,
        patient: Patient,
        resource: dict[str, Any],
        *,
        content_type: str | None = FHIR_JSON,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """POST one resource (or a Bundle to /fhir) with the patient's own token."""
        rtype = resource["resourceType"]
        path = "/fhir" if rtype == "Bundle" else f"/fhir/{rtype}"
        return self.request(
            "POST", path, patient.token, body=resource, content_type=content_type, headers=headers
        )

    def created(self, patient: Patient, resource: dict[str, Any]) -> dict[str, Any]:
        """POST, expect 201, wait until it is triaged; the stored resource."""
        answer = self.send(patient, resource)
        assert answer.status_code == 201, f"{answer.status_code}: {answer.text}"
        stored: dict[str, Any] = answer.json()
        self.done(stored["resourceType"], stored["id"])
        return stored

    def bundle(self, patient: Patient, bundle: dict[str, Any]) -> list[dict[str, Any]]:
        """POST a Bundle, expect every entry accepted, wait until each is triaged."""
        answer = self.send(patient, bundle)
        assert answer.status_code == 200, f"{answer.status_code}: {answer.text}"
        entries: list[dict[str, Any]] = answer.json()["entry"]
        for entry in entries:
            assert entry["response"]["status"] in ("201 Created", "200 OK"), entry
            rtype, _, rid = entry["fullUrl"].partition("/")
            self.done(rtype, rid)
        return entries

    def correct(
        self,
        token: str,
        resource: dict[str, Any],
        *,
        path: str | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """PUT a correction (to ``/fhir/{type}/{id}`` unless ``path`` says otherwise)."""
        path = path or f"/fhir/{resource['resourceType']}/{resource['id']}"
        return self.request("PUT", path, token, body=resource, params=params, headers=headers)

    # -- waiting for triage -----------------------------------------------------------------

    def done(self, rtype: str, rid: str, seconds: float = WAIT) -> dict[str, Any]:
        """The submission's result once triage is done (polled, with a deadline)."""
        deadline = time.monotonic() + seconds
        while True:
            answer = self.get(f"/api/submissions/{rtype}/{rid}/result")
            assert answer.status_code in (200, 202), answer.text
            if answer.status_code == 200:
                result: dict[str, Any] = answer.json()
                assert result["status"] == "done", f"triage failed: {result}"
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"{rtype}/{rid} was not triaged within {seconds:.0f} s")
            time.sleep(0.1)

    def wait_until(self, what: str, check: Callable[[], Any], seconds: float = REJUDGE_WAIT) -> Any:
        deadline = time.monotonic() + seconds
        while True:
            found = check()
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"not within {seconds:.0f} s: {what}")
            time.sleep(0.25)

    # -- what a clinician reads -------------------------------------------------------------

    def worklist(self, pathway: str, status: str = "open") -> list[dict[str, Any]]:
        """Every item of one pathway's worklist with this status, page by page (``next``)."""
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {"pathway": pathway, "status": status, "limit": 100}
        for _ in range(1000):
            answer = self.get("/api/worklist", params)
            assert answer.status_code == 200, answer.text
            page = answer.json()
            items += page["items"]
            if not page["next"]:
                return items
            params["cursor"] = page["next"]
        raise AssertionError("the worklist never ends")

    def item(self, patient: Patient, pathway: str, status: str = "open") -> dict[str, Any] | None:
        """The patient's item on the pathway's list with this status (at most one)."""
        mine = [i for i in self.worklist(pathway, status) if i["patient"]["id"] == patient.id]
        assert len(mine) <= 1, f"{len(mine)} {status} items for one patient on {pathway}"
        return mine[0] if mine else None

    def the_item(self, patient: Patient, pathway: str, status: str = "open") -> dict[str, Any]:
        item = self.item(patient, pathway, status)
        assert item is not None, f"no {status} item for the patient on the {pathway} list"
        return item

    def results(self, patient: Patient) -> list[dict[str, Any]]:
        answer = self.get(f"/api/patients/{patient.id}/triage")
        assert answer.status_code == 200, answer.text
        results: list[dict[str, Any]] = answer.json()["results"]
        return results

    def items_anywhere(self, patient: Patient) -> list[dict[str, Any]]:
        """The patient's items on every list (open and acknowledged)."""
        found = []
        for status in ("open", "acknowledged"):
            params: dict[str, Any] = {"status": status, "limit": 200}
            while True:
                answer = self.get("/api/worklist", params)
                assert answer.status_code == 200, answer.text
                page = answer.json()
                found += [i for i in page["items"] if i["patient"]["id"] == patient.id]
                if not page["next"]:
                    break
                params["cursor"] = page["next"]
        return found

    def act(self, item: dict[str, Any], action: str, body: dict[str, Any] | None = None) -> Any:
        return self.staff_post(f"/api/worklist/{item['id']}/{action}", body or {})

    def read(self, rtype: str, rid: str) -> dict[str, Any]:
        answer = self.get(f"/fhir/{rtype}/{rid}")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def history(self, rtype: str, rid: str) -> dict[str, Any]:
        answer = self.get(f"/fhir/{rtype}/{rid}/_history")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body


def _json_bytes(body: Any) -> bytes:
    return json.dumps(body).encode()


def patient_token(patient_id: str) -> str:
    from api.auth import create_token
    from runtime.settings import Settings

    settings = Settings(jwt_secret=SECRET, environment="test")
    return create_token(settings, role="patient", patient_id=patient_id)


def _patient() -> dict[str, Any]:
    return fnr_patient(new_fnr())


def _cli_token(env: dict[str, str], folder: Path, *args: str) -> str:
    done = subprocess.run(
        [str(TRIAGE), "token", *args],
        cwd=folder,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session", params=BACKENDS)
def api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, recorder: Recorder
) -> Iterator[Api]:
    """``triage run`` on one backend, ready (demo loaded), for the whole session."""
    name = request.param
    if name not in ("embedded", "postgres+redis"):
        raise ValueError(f"SAFETY_BACKENDS: unknown backend {name!r}")
    folder = tmp_path_factory.mktemp(f"safety-{name.replace('+', '-')}")
    env = {
        "ENVIRONMENT": "test",
        "JWT_SECRET": SECRET,
        "HOST": "127.0.0.1",
        "PORT": str(_free_port()),
        "BROKER_DIR": str(folder / "broker"),
        "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"),
        "LOG_FORMAT": "json",
        # the overdue check every 5 s instead of 5 min, so test_overdue.py need not wait
        "OVERDUE_CHECK_SECONDS": "5",
    }
    drop: Callable[[], None] = lambda: None  # noqa: E731
    if name == "embedded":
        env |= {"DATABASE_URL": f"sqlite:///{folder / 'triage.sqlite3'}", "REDIS_URL": ""}
    else:
        url, drop = _postgres_schema()
        _flushed_redis()
        env |= {"DATABASE_URL": url, "REDIS_URL": REDIS_URL}
    started = time.monotonic()
    run = Run(env, folder)
    try:
        try:
            line = run.wait_for("The service runs at ", 300)
            clinician = run.wait_for("TOKEN=", 5).removeprefix("TOKEN=")
        except RuntimeError as exc:
            pytest.fail(str(exc), pytrace=False)
        base = line.split()[4]
        author = _cli_token(env, folder, "--role", "author", "--pathways", "*")
        service = Api(name, base, clinician, author, recorder)
        sys.stderr.write(
            f"\n[safety] triage run on {name} ready in {time.monotonic() - started:.1f} s\n"
        )
        yield service
        service.http.close()
    finally:
        run.stop()
        drop()


# --- FHIR builders ------------------------------------------------------------------------------


def ago(hours: float = 0, minutes: float = 0) -> str:
    """A time ``hours`` (and ``minutes``) before now, ISO 8601 with offset, whole seconds."""
    when = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours, minutes=minutes)
    return when.isoformat(timespec="seconds")


def ahead(hours: float) -> str:
    return ago(hours=-hours)


def ident(label: str = "") -> dict[str, str]:
    return {"system": IDENT_SYSTEM, "value": f"{label}{uuid.uuid4().hex}"}


def coding(system: str, code: str) -> dict[str, str]:
    return {"system": system, "code": code}


def quantity(value: Any, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def observation(
    patient: Patient,
    codings: list[dict[str, str]],
    value: Any,
    unit: str,
    when: str,
    *,
    identifier: dict[str, str] | None = None,
    status: str = "final",
) -> dict[str, Any]:
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "status": status,
        "code": {"coding": codings},
        "subject": {"reference": patient.ref},
        "effectiveDateTime": when,
        "valueQuantity": quantity(value, unit),
    }
    if identifier is not None:
        obs["identifier"] = [identifier]
    return obs


def spo2(patient: Patient, value: Any, when: str, **kw: Any) -> dict[str, Any]:
    return observation(patient, [coding(LOINC, "59408-5")], value, "%", when, **kw)


def pulse(patient: Patient, value: Any, when: str, **kw: Any) -> dict[str, Any]:
    return observation(patient, [coding(LOINC, "8867-4")], value, "/min", when, **kw)


def weight(patient: Patient, value: Any, when: str, unit: str = "kg", **kw: Any) -> dict[str, Any]:
    return observation(patient, [coding(LOINC, "29463-7")], value, unit, when, **kw)


SYSTOLIC = [coding(LOINC, "8480-6")]
DIASTOLIC = [coding(LOINC, "8462-4")]
BP_PANEL = [coding(LOINC, "85354-9")]


def blood_pressure(
    patient: Patient,
    when: str,
    systolic: Any = None,
    diastolic: Any = None,
    *,
    panel: list[dict[str, str]] | None = None,
    systolic_codings: list[dict[str, str]] | None = None,
    absent: str | None = None,
    identifier: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A BP panel (LOINC 85354-9) with the components given; ``absent`` ("systolic" or
    "diastolic") adds that component with a ``dataAbsentReason`` instead of a value."""
    components = []
    for name, value, codings in (
        ("systolic", systolic, systolic_codings or SYSTOLIC),
        ("diastolic", diastolic, DIASTOLIC),
    ):
        if value is not None:
            components.append(
                {"code": {"coding": codings}, "valueQuantity": quantity(value, "mm[Hg]")}
            )
        elif absent == name:
            reason = {
                "coding": [
                    coding("http://terminology.hl7.org/CodeSystem/data-absent-reason", "error")
                ]
            }
            components.append({"code": {"coding": codings}, "dataAbsentReason": reason})
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": panel or BP_PANEL},
        "subject": {"reference": patient.ref},
        "effectiveDateTime": when,
        "component": components,
    }
    if identifier is not None:
        obs["identifier"] = [identifier]
    return obs


def response(
    patient: Patient,
    questionnaire: str | None,
    answers: list[tuple[str, list[dict[str, Any]]]],
    when: str,
    *,
    status: str = "completed",
    identifier: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A QuestionnaireResponse; ``answers`` is ``[(linkId, [answer, ...]), ...]`` in order."""
    body: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "status": status,
        "subject": {"reference": patient.ref},
        "authored": when,
        "item": [{"linkId": link, "answer": given} for link, given in answers],
    }
    if questionnaire is not None:
        body["questionnaire"] = questionnaire
    if identifier is not None:
        body["identifier"] = identifier
    return body


def integer(n: int) -> list[dict[str, Any]]:
    return [{"valueInteger": n}]


def boolean(b: bool) -> list[dict[str, Any]]:
    return [{"valueBoolean": b}]


def choice(system: str, *codes: str) -> list[dict[str, Any]]:
    return [{"valueCoding": coding(system, code)} for code in codes]


def epilepsy(
    patient: Patient, seizures: int, when: str, questionnaire: str = EPILEPSY, **kw: Any
) -> dict[str, Any]:
    """An epilepsy follow-up: 0 seizures is green, 5 (3 or more) is red."""
    answers = [
        ("seizure-count", integer(seizures)),
        ("new-seizure-type", boolean(False)),
        ("side-effects", choice(SIDE_EFFECTS, "none")),
        ("wants-contact", boolean(False)),
    ]
    return response(patient, questionnaire, answers, when, **kw)


def phq9(
    patient: Patient,
    when: str,
    item9: list[dict[str, Any]] | None = None,
    questionnaire: str = PHQ9 + "|1",
    **kw: Any,
) -> dict[str, Any]:
    """A PHQ-9 with items 1-8 "not at all" and item 9 as given (default "not at all")."""
    answers = [(f"phq9-{n}", choice(LOINC, NOT_AT_ALL)) for n in range(1, 9)]
    answers.append(("phq9-9", item9 if item9 is not None else choice(LOINC, NOT_AT_ALL)))
    answers.append(("wants-contact", boolean(False)))
    return response(patient, questionnaire, answers, when, **kw)


def cat(patient: Patient, each: int, when: str, **kw: Any) -> dict[str, Any]:
    """A COPD CAT with every one of the 8 answers ``each`` (8 is green, 40 is red)."""
    answers = [(f"cat-{n}", integer(each)) for n in range(1, 9)]
    answers += [("rescue-pack", boolean(False)), ("wants-contact", boolean(False))]
    return response(patient, COPD_CAT, answers, when, **kw)


def wrist(patient: Patient, pain: int, when: str) -> dict[str, Any]:
    answers = [
        ("pain", integer(pain)),
        ("function", integer(8)),
        ("wound-problem", boolean(False)),
        ("numbness", boolean(False)),
        ("fever", boolean(False)),
    ]
    return response(patient, WRIST, answers, when)


def bundle(kind: str, resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [
            {"resource": r, "request": {"method": "POST", "url": r["resourceType"]}}
            for r in resources
        ],
    }


def rules_of(thing: dict[str, Any]) -> set[str]:
    return {r["rule"] for r in thing.get("reasons", []) if r.get("rule")}


def kinds_of(thing: dict[str, Any]) -> set[str]:
    return {r.get("kind", "") for r in thing.get("reasons", [])}


def places(outcome: dict[str, Any]) -> list[str]:
    """Every location an OperationOutcome names."""
    assert outcome.get("resourceType") == "OperationOutcome", outcome
    return [p for issue in outcome["issue"] for p in issue.get("expression", [])]


def words(outcome: dict[str, Any]) -> str:
    return " ".join(issue.get("diagnostics", "") for issue in outcome["issue"])


def edited(resource: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of a stored resource with top-level elements changed, ``meta`` left out."""
    body = copy.deepcopy(resource)
    body.pop("meta", None)
    body.update(changes)
    return body
