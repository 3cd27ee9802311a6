"""The running service over HTTP, as a patient app, a clinician and an author see it: the
attack suite's client, with waits for triage and readers of the worklist."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tests.integration.fhir_helpers import fnr_patient, new_fnr
from tests.safety.recording import Recorder
from tests.safety.tokens import patient_token

FHIR_JSON = "application/fhir+json"
WAIT = 30.0  # seconds for one upload to be triaged (the worker takes well under one)
REJUDGE_WAIT = 60.0  # API.md: a new pathway version re-judges "within a minute"


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


def _patient() -> dict[str, Any]:
    return fnr_patient(new_fnr())
