"""The safety model's steps: what patient apps, clinicians and clinic staff do to one patient
(responses and readings, late, early, dated ahead, coded SNOMED first, with a component
missing; transaction Bundles of several; the same body sent twice; corrections and
withdrawals; a new pathway version, new thresholds; a clinician acknowledging, overriding
and resolving). What must hold after each step: tests/model/invariants.py."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule

from store.db import session_scope
from store.pathways import compiled, version_row
from tests.integration.fhir_helpers import fnr_patient, new_fnr
from tests.model.invariants import Clinician, Plan, RecordedMachine
from tests.model.oracle import Upload, Version
from tests.model.sending import (
    EPILEPSY,
    FHIR_JSON,
    Reading,
    observation,
    offsets,
    readings_for,
    response,
    token,
    variant,
)

RAN: Counter[str] = Counter()  # steps run, by rule: the run must have exercised each
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


class SafetyMachine(RecordedMachine):
    client: TestClient

    # --- set-up -------------------------------------------------------------------------

    @initialize(name=st.sampled_from(sorted(PLANS)))
    def enrol_a_patient(self, name: str) -> None:
        staff = token("clinician")
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
        self.patient_token = token("patient", patient)
        for pathway in pathways:
            self.clinician[pathway] = Clinician()

    def teardown(self) -> None:
        """Leave nothing the next example's publishes would re-judge."""
        if self.plan is None:
            return
        staff = token("clinician")
        for item in self._open_items().values():
            self.client.post(f"/api/worklist/{item.id}/resolve", json={}, headers=staff)
        for pathway in self.plan.pathways:
            self.client.delete(
                f"/api/patients/{self.plan.patient}/enrolments/{pathway}", headers=staff
            )

    # --- bodies, dated by the example's clock --------------------------------------------

    def _at(self, offset: int) -> str:
        return (self.now - dt.timedelta(minutes=offset)).isoformat()

    def _response(self, form: str, data: st.DataObject, offset: int) -> dict[str, Any]:
        assert self.plan is not None
        return response(self.plan.patient, form, data, self._at(offset))

    def _observation(self, reading: Reading, offset: int) -> dict[str, Any]:
        assert self.plan is not None
        return observation(self.plan.patient, reading, self._at(offset))

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
            author = {**token("author"), "Content-Type": "text/yaml"}
            published = variant(text, pathway, name, value)
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
            headers=token("clinician"),
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
        staff = token("clinician")
        url = f"/api/worklist/{item.id}/{act}"
        if act == "override":
            level = data.draw(st.sampled_from(["green", "yellow", "red"]))
            answer = self.client.post(url, json={"level": level, "reason": "modell"}, headers=staff)
        else:
            answer = self.client.post(url, json={}, headers=staff)
        assert answer.status_code in (200, 409), answer.text  # 409: acknowledged already
        if act == "resolve" and answer.status_code == 200:
            self.clinician[pathway].resolved = step
