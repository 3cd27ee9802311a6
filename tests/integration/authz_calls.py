"""What the authorization tests (test_authorization_*.py) share: the rows they are about
(``World``, made by the ``world`` fixture in conftest.py) and the /api calls they make."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from store.db import session_scope
from store.models import WorklistItem
from tests.integration.api_rows import pathway_text


@dataclass(frozen=True)
class World:
    pathway: str
    patient: str  # in `pathway`: an item, a result, a submission
    other_patient: str
    item: str
    submission: str


# (method, path, JSON body); {patient}, {item}, {pathway}, {submission} filled from World.
STAFF_CALLS: list[tuple[str, str, Any]] = [
    ("GET", "/api/worklist?pathway={pathway}", None),
    ("POST", "/api/worklist/{item}/acknowledge", {"note": "x"}),
    ("POST", "/api/worklist/{item}/resolve", {"note": "x", "contact": "phone"}),
    ("POST", "/api/worklist/{item}/override", {"level": "green", "reason": "x"}),
    ("GET", "/api/patients/{patient}", None),
    ("GET", "/api/patients/{patient}/triage", None),
    ("GET", "/api/patients/{patient}/enrolments", None),
    ("POST", "/api/patients/{patient}/enrolments", {"pathway": "{pathway}"}),
    ("GET", "/api/pathways/{pathway}", None),
]
UNSCOPED_CALLS: list[tuple[str, str, Any]] = [
    ("GET", "/api/worklist", None),
    ("GET", "/api/unrouted", None),
    ("GET", "/api/pathways", None),
]
PUBLISH = ("PUT", "/api/pathways/{pathway}", None)
REPLAY = ("POST", "/api/pathways/{pathway}/replay?since=P30D", None)
REPLAY_READ = ("GET", "/api/pathways/{pathway}/replay/rj-none", None)
AUTHOR_CALLS = [PUBLISH, REPLAY, REPLAY_READ]
RESULT = ("GET", "/api/submissions/QuestionnaireResponse/{submission}/result", None)
PATIENT_PATHS = [
    "/api/patients/{id}",
    "/api/patients/{id}/triage",
    "/api/patients/{id}/enrolments",
]
ALL_CALLS = [*STAFF_CALLS, *UNSCOPED_CALLS, *AUTHOR_CALLS, RESULT]


def call(client: TestClient, world: World, spec: tuple[str, str, Any], auth: dict[str, str]) -> Any:
    method, path, body = spec
    values = {k: getattr(world, k) for k in ("patient", "item", "pathway", "submission")}
    url = path.format(**values)
    if spec is PUBLISH or spec is REPLAY:
        text = pathway_text(world.pathway, version=1)
        return client.request(
            method, url, content=text, headers={**auth, "Content-Type": "text/yaml"}
        )
    if isinstance(body, dict):
        body = {k: v.format(**values) if isinstance(v, str) else v for k, v in body.items()}
    return client.request(method, url, json=body, headers=auth)


def item_untouched(world: World) -> bool:
    with session_scope() as session:
        item = session.get(WorklistItem, world.item)
        assert item is not None
        return item.status == "open" and item.override_level is None
