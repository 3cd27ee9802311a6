"""A stateful property test of the safety promises (issue 10), through the real ingest (the
FastAPI app) and a real Celery worker, on the embedded default and on PostgreSQL + Redis.

Hypothesis runs random sequences of what patient apps, clinicians and clinic staff do to
one patient: responses and readings (late, early, dated ahead, coded SNOMED first, with a
component missing), transaction Bundles of several, the same body sent twice, corrections
(PUT) and withdrawals (``entered-in-error``), a new pathway version, new thresholds, and a
clinician acknowledging, overriding and resolving. After every step it waits for the worker
and checks, against the model's own record and the pure engine (tests/model/oracle.py):

- no request answers 5xx; a duplicate answers 200 with the same id;
- every accepted upload has one result per pathway that reads it, judged as of its own time
  at the level the engine gives over the data there was when it was judged (or it is shown
  as unrouted); every re-judgement likewise, with the version that made it;
- **an upload whose own judgement is red leaves a red item until a clinician resolves it**
  (the item's engine level stays red whatever the clinician's override says);
- an open item holds the worst result since it opened, and shows the newest data beside it.

``SAFETY_EXAMPLES`` sets the number of examples per backend (``make test``: a few minutes in
all; ``make test-safety``: a longer run).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlmodel import col, select

from api.app import create_app
from api.auth import create_token
from runtime.settings import get_settings
from store.db import session_scope
from store.models import Outbox, Resource, ResourceVersion, TriageResult, WorklistItem
from store.pathways import compiled, version_row
from tests.conftest import Service
from tests.integration.fhir_helpers import fnr_patient, new_fnr
from tests.model.oracle import Upload, Version, has_data, judged_levels, own_time, reads
from triage import Level, Pathway

EXAMPLES = int(os.environ.get("SAFETY_EXAMPLES", "25"))
RAN: Counter[str] = Counter()  # steps run, by rule: the run must have exercised each
STEPS = int(os.environ.get("SAFETY_STEPS", "20"))
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
EPILEPSY = "http://example.no/fhir/Questionnaire/epilepsy-followup"
CAT = "http://example.no/fhir/Questionnaire/copd-cat"
FHIR_JSON = {"Content-Type": "application/fhir+json"}
# Each example follows one of these patients: a pathway with a form, with readings, or both.
PLANS = {
    "epilepsy": ("epilepsy",),
    "copd": ("copd",),
    "heart-failure": ("heart-failure",),
    "hypertension": ("hypertension-home-bp",),
    "heart-and-copd": ("heart-failure", "copd"),
}
TUNABLE = {  # thresholds a new version or an enrolment may set, within the file's min..max
    "epilepsy": ("seizures_red", "seizures_yellow"),
    "copd": ("spo2_red", "spo2_yellow", "pulse_red", "cat_red"),
    "heart-failure": ("gain_red", "spo2_low", "systolic_low", "pulse_high"),
    "hypertension-home-bp": ("severe_systolic", "severe_diastolic", "home_systolic"),
}


@pytest.fixture(scope="module")
def worker(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    service.start_worker(tmp_path_factory.mktemp(f"model-worker-{service.name}"))
    yield service
    service.stop_workers()


def _token(role: str, patient_id: str | None = None) -> dict[str, str]:
    value = create_token(get_settings(), role=role, patient_id=patient_id, pathways=["*"])  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {value}"}


# --- what the apps send -------------------------------------------------------------------

offsets = st.one_of(
    st.integers(min_value=0, max_value=7 * 24 * 60),  # minutes before the example's "now"
    st.sampled_from([-45, -180]),  # dated ahead of its arrival: a fast phone clock
)
Reading = tuple[str, float, bool]  # kind, value, coded SNOMED first


def readings_for(kinds: tuple[str, ...]) -> st.SearchStrategy[Reading]:
    values = {
        "weight": st.floats(min_value=60, max_value=68).map(lambda v: round(v, 1)),
        "spo2": st.integers(min_value=80, max_value=99).map(float),
        "pulse": st.integers(min_value=45, max_value=150).map(float),
        "bp": st.tuples(
            st.one_of(st.none(), st.integers(min_value=80, max_value=215)),
            st.one_of(st.none(), st.integers(min_value=45, max_value=125)),
        ),
    }
    return st.one_of(
        *(st.tuples(st.just(k), values[k], st.booleans()) for k in kinds)  # type: ignore[arg-type]
    )


@dataclass
class Clinician:
    """What a clinician did to a pathway's item, by step."""

    resolved: int = -1  # the step of the last resolve


@dataclass
class Plan:
    patient: str
    pathways: dict[str, dict[str, Any]]  # enrolled pathway -> the patient's thresholds
    kinds: tuple[str, ...]
    forms: tuple[str, ...]
    history: list[tuple[int, dict[str, dict[str, Any]]]] = field(default_factory=list)


class SafetyMachine(RuleBasedStateMachine):
    client: TestClient

    def __init__(self) -> None:
        super().__init__()
        self.step = 0
        self.now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
        self.uploads: list[Upload] = []
        self.results: dict[str, int] = {}  # result id -> the step it was made in
        self.clinician: dict[str, Clinician] = {}
        self.open_before: dict[tuple[int, str], bool] = {}
        self.plan: Plan | None = None
        self.patient_token: dict[str, str] = {}

    # --- set-up -------------------------------------------------------------------------

    @initialize(name=st.sampled_from(sorted(PLANS)))
    def enrol_a_patient(self, name: str) -> None:
        staff = _token("clinician")
        answer = self.client.post("/fhir/Patient", json=fnr_patient(new_fnr()), headers=staff)
        assert answer.status_code == 201, answer.text
        patient = answer.json()["id"]
        pathways = {}
        for pathway in PLANS[name]:
            enrolled = self.client.post(
                f"/api/patients/{patient}/enrolments", json={"pathway": pathway}, headers=staff
            )
            assert enrolled.status_code == 201, enrolled.text
            pathways[pathway] = {}
        kinds: tuple[str, ...] = ()
        if "heart-failure" in pathways:
            kinds += ("weight", "spo2", "pulse", "bp")
        if "copd" in pathways:
            kinds += ("spo2", "pulse")
        if "hypertension-home-bp" in pathways:
            kinds += ("bp",)
        forms = tuple(p for p in pathways if p in ("epilepsy", "copd"))
        self.plan = Plan(patient, pathways, tuple(dict.fromkeys(kinds)), forms)
        self.plan.history.append((0, {p: dict(t) for p, t in pathways.items()}))
        self.patient_token = _token("patient", patient)
        for pathway in pathways:
            self.clinician[pathway] = Clinician()

    def teardown(self) -> None:
        """Leave nothing the next example's publishes would re-judge."""
        if self.plan is None:
            return
        staff = _token("clinician")
        for item in self._open_items().values():
            self.client.post(f"/api/worklist/{item.id}/resolve", json={}, headers=staff)
        for pathway in self.plan.pathways:
            self.client.delete(
                f"/api/patients/{self.plan.patient}/enrolments/{pathway}", headers=staff
            )

    # --- bodies -------------------------------------------------------------------------

    def _identifier(self) -> dict[str, str]:
        return {"system": "urn:test:model", "value": uuid.uuid4().hex}

    def _at(self, offset: int) -> str:
        return (self.now - dt.timedelta(minutes=offset)).isoformat()

    def _response(self, form: str, data: st.DataObject, offset: int) -> dict[str, Any]:
        assert self.plan is not None
        if form == "epilepsy":
            answers = {
                "seizure-count": {"valueInteger": data.draw(st.integers(0, 6))},
                "side-effects": {
                    "valueCoding": {"code": data.draw(st.sampled_from(["none", "mild", "severe"]))}
                },
                "new-seizure-type": {"valueBoolean": data.draw(st.booleans())},
                "wants-contact": {"valueBoolean": data.draw(st.booleans())},
            }
            url = EPILEPSY
        else:
            answers = {
                f"cat-{i}": {"valueInteger": data.draw(st.integers(0, 5))} for i in range(1, 9)
            }
            answers["rescue-pack"] = {"valueBoolean": data.draw(st.booleans())}
            url = CAT
        # Optional answers may be left out (missing values: three-valued logic).
        left_out = data.draw(st.sets(st.sampled_from(sorted(answers)), max_size=2))
        return {
            "resourceType": "QuestionnaireResponse",
            "identifier": self._identifier(),
            "questionnaire": f"{url}|1",
            "status": "completed",
            "subject": {"reference": f"Patient/{self.plan.patient}"},
            "authored": self._at(offset),
            "item": [
                {"linkId": link, "answer": [value]}
                for link, value in answers.items()
                if link not in left_out
            ],
        }

    def _observation(self, reading: Reading, offset: int) -> dict[str, Any]:
        assert self.plan is not None
        kind, value, snomed_first = reading
        codes = {
            "weight": ("29463-7", "27113001", "kg"),
            "spo2": ("59408-5", "431314004", "%"),
            "pulse": ("8867-4", "364075005", "/min"),
            "bp": ("85354-9", "75367002", "mm[Hg]"),
        }[kind]
        coding = [{"system": LOINC, "code": codes[0]}, {"system": SNOMED, "code": codes[1]}]
        if snomed_first:
            coding.reverse()
        body: dict[str, Any] = {
            "resourceType": "Observation",
            "identifier": [self._identifier()],
            "status": "final",
            "code": {"coding": coding},
            "subject": {"reference": f"Patient/{self.plan.patient}"},
            "effectiveDateTime": self._at(offset),
        }
        if kind != "bp":
            body["valueQuantity"] = {
                "value": value,
                "unit": codes[2],
                "system": UCUM,
                "code": codes[2],
            }
            return body
        systolic, diastolic = value  # type: ignore[misc]
        body["component"] = [
            {"code": {"coding": [{"system": LOINC, "code": code}]}}
            | (
                {"valueQuantity": {"value": v, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}}
                if v is not None
                else {"dataAbsentReason": {"coding": [{"code": "not-performed"}]}}
            )
            for code, v in (("8480-6", systolic), ("8462-4", diastolic))
        ]
        return body

    # --- sending ------------------------------------------------------------------------

    def _send(self, method: str, url: str, body: dict[str, Any], **headers: str) -> Any:
        answer = self.client.request(
            method, url, json=body, headers={**self.patient_token, **FHIR_JSON, **headers}
        )
        assert answer.status_code < 500, f"{method} {url}: {answer.status_code} {answer.text}"
        return answer

    def _accepted(self, body: dict[str, Any], stored: dict[str, Any], sent: dt.datetime) -> None:
        ident = body["identifier"]
        ident = ident[0] if isinstance(ident, list) else ident
        upload = Upload(stored["id"], body["resourceType"], f"{ident['system']}|{ident['value']}")
        upload.versions.append(Version(self.step, body, sent))
        self.uploads.append(upload)

    def _next_step(self, what: str) -> int:
        self.step += 1
        RAN[what] += 1
        for pathway in self.clinician:
            self.open_before[(self.step, pathway)] = pathway in self._open_items()
        return self.step

    # --- rules --------------------------------------------------------------------------

    @precondition(lambda self: self.plan is not None and self.plan.forms)
    @rule(data=st.data(), offset=offsets)
    def a_response(self, data: st.DataObject, offset: int) -> None:
        assert self.plan is not None
        body = self._response(data.draw(st.sampled_from(self.plan.forms)), data, offset)
        self._next_step("a response")
        sent = dt.datetime.now(dt.UTC)
        answer = self._send("POST", "/fhir/QuestionnaireResponse", body)
        assert answer.status_code == 201, answer.text
        self._accepted(body, answer.json(), sent)

    @precondition(lambda self: self.plan is not None and self.plan.kinds)
    @rule(data=st.data(), offset=offsets)
    def a_reading(self, data: st.DataObject, offset: int) -> None:
        assert self.plan is not None
        body = self._observation(data.draw(readings_for(self.plan.kinds)), offset)
        self._next_step("a reading")
        sent = dt.datetime.now(dt.UTC)
        answer = self._send("POST", "/fhir/Observation", body)
        assert answer.status_code == 201, answer.text
        self._accepted(body, answer.json(), sent)

    @precondition(lambda self: self.plan is not None)
    @rule(data=st.data(), size=st.integers(min_value=2, max_value=5))
    def a_bundle(self, data: st.DataObject, size: int) -> None:
        """Several uploads at once: a phone that was offline, in any order of time."""
        assert self.plan is not None
        bodies = []
        for _ in range(size):
            offset = data.draw(offsets)
            if self.plan.forms and (not self.plan.kinds or data.draw(st.booleans())):
                form = data.draw(st.sampled_from(self.plan.forms))
                bodies.append(self._response(form, data, offset))
            else:
                bodies.append(self._observation(data.draw(readings_for(self.plan.kinds)), offset))
        bundle = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {"resource": b, "request": {"method": "POST", "url": b["resourceType"]}}
                for b in bodies
            ],
        }
        self._next_step("a bundle")
        sent = dt.datetime.now(dt.UTC)
        answer = self._send("POST", "/fhir", bundle)
        assert answer.status_code == 200, answer.text
        for body, entry in zip(bodies, answer.json()["entry"], strict=True):
            assert entry["response"]["status"] == "201 Created", entry
            self._accepted(body, {"id": entry["fullUrl"].split("/", 1)[1]}, sent)

    @precondition(lambda self: bool(self.uploads))
    @rule(data=st.data(), offset=offsets, fix=st.sampled_from(["again", "correct", "withdraw"]))
    def an_app_sends_again_or_corrects(self, data: st.DataObject, offset: int, fix: str) -> None:
        """The same body again (an app that did not hear the answer: one resource, 200),
        a corrected reading or amended response (a PUT judged again), or data marked
        entered-in-error (no later evaluation uses it); nothing lowers an item."""
        assert self.plan is not None
        if fix == "again":
            upload = data.draw(st.sampled_from(self.uploads))
            self._next_step("the same again")
            answer = self._send("POST", f"/fhir/{upload.rtype}", upload.versions[0].body)
            assert answer.status_code == 200, answer.text
            assert answer.json()["id"] == upload.id
            return
        live = [u for u in self.uploads if not u.versions[-1].withdrawn]
        if not live:
            return
        upload = data.draw(st.sampled_from(live))
        old = upload.versions[-1].body
        if fix == "withdraw":
            self._put(upload, old | {"status": "entered-in-error"}, "a withdrawal")
            return
        if upload.rtype == "QuestionnaireResponse":
            form = "epilepsy" if old["questionnaire"].startswith(EPILEPSY) else "copd"
            body = self._response(form, data, offset) | {"status": "amended"}
        else:
            body = self._observation(data.draw(readings_for(self.plan.kinds)), offset)
            body["status"] = "corrected"
        self._put(upload, body | {"identifier": old["identifier"]}, "a correction")

    def _put(self, upload: Upload, body: dict[str, Any], what: str) -> None:
        self._next_step(what)
        sent = dt.datetime.now(dt.UTC)
        answer = self._send("PUT", f"/fhir/{upload.rtype}/{upload.id}", body)
        assert answer.status_code == 200, answer.text
        stored = answer.json()
        assert stored["id"] == upload.id
        unchanged = {k: v for k, v in body.items() if k != "meta"} == {
            k: v for k, v in upload.versions[-1].body.items() if k != "meta"
        }
        if not unchanged:
            assert stored["meta"]["versionId"] == str(len(upload.versions) + 1), stored["meta"]
            upload.versions.append(Version(self.step, body, sent))

    @precondition(lambda self: self.plan is not None)
    @rule(data=st.data(), publish=st.booleans())
    def clinic_staff(self, data: st.DataObject, publish: bool) -> None:
        """A new pathway version with another threshold (what is open is judged again with
        it, and nothing falls), or the patient's own thresholds (judged from then on)."""
        assert self.plan is not None
        pathway_id = data.draw(st.sampled_from(sorted(self.plan.pathways)))
        with session_scope() as session:
            row = version_row(session, pathway_id)
            assert row is not None
            pathway = compiled(row)
            text = row.text
        name = data.draw(st.sampled_from(TUNABLE[pathway_id]))
        threshold = pathway.thresholds[name]
        assert threshold.min is not None and threshold.max is not None
        value = data.draw(st.integers(math.ceil(threshold.min), math.floor(threshold.max)))
        if publish:
            self._next_step("a new pathway version")
            author = {**_token("author"), "Content-Type": "text/yaml"}
            published = _variant(text, pathway, name, value)
            answer = self.client.put(
                f"/api/pathways/{pathway_id}", content=published, headers=author
            )
            assert answer.status_code == 201, answer.text
            return
        self._next_step("new thresholds")
        own = {**self.plan.pathways[pathway_id], name: value}
        answer = self.client.post(
            f"/api/patients/{self.plan.patient}/enrolments",
            json={"pathway": pathway_id, "thresholds": own},
            headers=_token("clinician"),
        )
        assert answer.status_code == 200, answer.text
        self.plan.pathways[pathway_id] = own
        self.plan.history.append((self.step, {p: dict(t) for p, t in self.plan.pathways.items()}))

    @precondition(lambda self: bool(self.clinician))
    @rule(data=st.data(), act=st.sampled_from(["acknowledge", "override", "resolve"]))
    def a_clinician(self, data: st.DataObject, act: str) -> None:
        items = self._open_items()
        if not items:
            return
        pathway = data.draw(st.sampled_from(sorted(items)))
        item = items[pathway]
        step = self._next_step(f"a clinician: {act}")
        staff = _token("clinician")
        url = f"/api/worklist/{item.id}/{act}"
        if act == "override":
            level = data.draw(st.sampled_from(["green", "yellow", "red"]))
            answer = self.client.post(url, json={"level": level, "reason": "modell"}, headers=staff)
        else:
            answer = self.client.post(url, json={}, headers=staff)
        assert answer.status_code in (200, 409), answer.text  # 409: acknowledged already
        if act == "resolve" and answer.status_code == 200:
            self.clinician[pathway].resolved = step

    # --- what must hold -----------------------------------------------------------------

    def _open_items(self) -> dict[str, WorklistItem]:
        if self.plan is None:
            return {}
        with session_scope() as session:
            rows = session.exec(
                select(WorklistItem).where(
                    col(WorklistItem.patient_id) == self.plan.patient,
                    col(WorklistItem.open_key).is_not(None),
                )
            ).all()
        return {row.pathway_id: row for row in rows}

    def _settle(self) -> None:
        """Wait until the worker has done every outbox row (this patient's and re-judges)."""
        deadline = time.monotonic() + 90
        while True:
            with session_scope() as session:
                waiting = session.exec(
                    select(Outbox.id).where(col(Outbox.done_at).is_(None)).limit(1)
                ).first()
            if waiting is None:
                return
            assert time.monotonic() < deadline, "the worker did not finish within 90 s"
            time.sleep(0.05)

    def _thresholds(self, step: int, pathway: str) -> dict[str, Any] | None:
        assert self.plan is not None
        current: dict[str, dict[str, Any]] = {}
        for at, enrolled in self.plan.history:
            if at <= step:
                current = enrolled
        return current.get(pathway)

    def _visible(self, step: int) -> list[Version]:
        return [v for u in self.uploads if (v := u.at_step(step)) is not None]

    @invariant()
    def every_upload_judged_as_of_its_own_time_and_a_red_never_vanishes(self) -> None:
        if self.plan is None:
            return
        self._settle()
        with session_scope() as session:
            results = session.exec(
                select(TriageResult).where(col(TriageResult.patient_id) == self.plan.patient)
            ).all()
            stored = {
                r.id: r
                for r in session.exec(
                    select(Resource).where(col(Resource.patient_id) == self.plan.patient)
                )
            }
            # When each version arrived (a correction's arrival replaces the row's own).
            arrived = {(r.id, r.version_id): r.received_at for r in stored.values()}
            for old in session.exec(
                select(ResourceVersion).where(col(ResourceVersion.resource_id).in_(stored))
            ):
                arrived[(old.resource_id, old.version_id)] = old.received_at
            versions = {
                (r.pathway_id, r.version): compiled(row)
                for r in results
                if (row := version_row(session, r.pathway_id, r.version)) is not None
            }
        for result in results:
            self.results.setdefault(result.id, self.step)
        by_id = {u.id: u for u in self.uploads}

        # Every result: the engine's level as of its own time, over the data there was.
        for result in results:
            step = self.results[result.id]
            pathway = versions[(result.pathway_id, result.version)]
            own = None
            if result.kind == "upload":
                upload = by_id[str(result.resource_id)]
                own = upload.versions[int(result.resource_version or 1) - 1]
                assert result.data_time == own_time(own.body), (result.id, result.data_time)
            assert result.data_time is not None
            if result.kind != "upload":  # judged as of the newest data (withdrawn aside)
                newest = max(
                    own_time(v.body)
                    for v in self._visible(step)
                    if not v.withdrawn and has_data(pathway, v.body)
                )
                assert result.data_time == newest, (result.id, result.kind, result.data_time)
            want = judged_levels(
                pathway,
                self._visible(step),
                result.data_time,
                own,
                self._thresholds(step, result.pathway_id),
            )
            assert Level.parse(result.level) in want, (
                f"result {result.id} ({result.kind}, step {step}) is {result.level}; the engine "
                f"gives {[w.label for w in want]} as of {result.data_time} with version "
                f"{result.version}: "
                f"{result.result['reasons']}"
            )

        # Every accepted upload: judged by each pathway that reads it, or shown as unrouted.
        enrolled = set(self.plan.pathways)
        for upload in self.uploads:
            version = upload.versions[-1]
            if version.withdrawn and len(upload.versions) > 1:
                continue
            mine = [
                r
                for r in results
                if r.resource_id == upload.id and r.resource_version == len(upload.versions)
            ]
            readers = {pid for pid in enrolled if reads(versions_any(versions, pid), version.body)}
            if not readers:
                assert stored[upload.id].routed is False or mine, upload.id
                continue
            assert {r.pathway_id for r in mine} >= readers, (upload.id, readers, mine)
            assert len(mine) == len({r.pathway_id for r in mine}), f"{upload.id} judged twice"

        # The worklist: a red since the last resolve keeps the item red; the item holds the
        # worst result since it opened and shows the newest data beside it.
        items = self._open_items()
        for pathway, clinician in self.clinician.items():
            since = [
                r
                for r in results
                if r.pathway_id == pathway and self.results[r.id] > clinician.resolved
            ]
            applied = [
                r
                for r in since
                if r.kind == "upload"
                or r.level != "green"
                or self.open_before.get((self.results[r.id], pathway), False)
            ]
            item = items.get(pathway)
            if any(r.level == "red" for r in since if r.kind == "upload"):
                assert item is not None and item.level == "red", (
                    f"a red upload of {pathway} since the last resolve, but the item is "
                    f"{item.level if item else 'gone'}"
                )
            if not applied:
                continue
            assert item is not None, f"{pathway}: results since the last resolve, but no item"
            worst = max(Level.parse(r.level) for r in applied)
            assert Level.parse(item.level) == worst, (pathway, item.level, worst.label)
            shown = [_shown(r, arrived) for r in applied]
            assert item.newest is not None
            assert dt.datetime.fromisoformat(item.newest["at"]) == max(shown), (
                pathway,
                item.newest,
            )


def versions_any(versions: dict[tuple[str, int], Pathway], pathway_id: str) -> Pathway:
    """Any loaded version of a pathway (routing does not change between our versions)."""
    found = [p for (pid, _), p in versions.items() if pid == pathway_id]
    if found:
        return found[-1]
    with session_scope() as session:
        row = version_row(session, pathway_id)
        assert row is not None
        return compiled(row)


def _shown(result: TriageResult, arrived: dict[tuple[str, int], dt.datetime]) -> dt.datetime:
    """The time the worklist orders a result by: its data's, never later than it arrived
    (the version it judged arrived; a re-judgement's data is there when it is made)."""
    assert result.data_time is not None
    came = result.created
    if result.kind == "upload":
        came = arrived[(str(result.resource_id), int(result.resource_version or 1))]
    return min(result.data_time, came)


def _variant(text: str, pathway: Pathway, name: str, value: int) -> str:
    """The pathway file with one threshold's value changed, the version raised and its
    embedded tests left out (a new default may rightly change what they expect)."""
    lines = text.splitlines()
    out = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("tests:"):
            break
        if line.startswith("version:"):
            line = f"version: {pathway.version + 1}"
        elif stripped.startswith(f"{name}:") and "value:" in line:
            head, _, rest = line.partition("value:")
            line = f"{head}value: {value}," + rest.split(",", 1)[1]
        out.append(line)
    return "\n".join(out) + "\n"


def test_a_red_never_vanishes(worker: Service) -> None:
    """The safety invariants hold over random sequences of uploads, corrections,
    withdrawals, publishes, enrolments and clinicians' actions."""
    RAN.clear()
    SafetyMachine.client = TestClient(create_app())
    run_state_machine_as_test(
        SafetyMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=os.environ.get("SAFETY_RANDOM") is None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    print(
        f"\nsafety model on {worker.name}: {sum(RAN.values())} steps: {dict(sorted(RAN.items()))}"
    )
    # A run that never corrected, withdrew, published or resolved would prove little.
    exercised = {"a response", "a reading", "a bundle", "a correction", "a withdrawal"}
    exercised |= {"a new pathway version", "a clinician: resolve", "the same again"}
    assert exercised <= set(RAN), f"never run: {sorted(exercised - set(RAN))}"
