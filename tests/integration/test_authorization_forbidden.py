"""403 on the /api calls, on both databases: for a wrong role, for another patient (existing or
not, alike) and for a pathway not granted; a refused change changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.api_rows import headers, unique
from tests.integration.authz_calls import (
    AUTHOR_CALLS,
    PATIENT_PATHS,
    RESULT,
    STAFF_CALLS,
    UNSCOPED_CALLS,
    World,
    call,
    item_untouched,
)


@pytest.mark.parametrize(
    "spec", [*STAFF_CALLS, *UNSCOPED_CALLS, *AUTHOR_CALLS], ids=lambda s: f"{s[0]} {s[1]}"
)
def test_a_patient_token_may_not_use_staff_calls_even_for_itself(
    client: TestClient, world: World, spec: tuple[str, str, Any]
) -> None:
    response = call(client, world, spec, headers("patient", patient_id=world.patient))
    assert response.status_code == 403, response.text
    assert item_untouched(world)


@pytest.mark.parametrize("spec", AUTHOR_CALLS, ids=lambda s: f"{s[0]} {s[1]}")
def test_a_clinician_may_not_publish_or_replay(
    client: TestClient, world: World, spec: tuple[str, str, Any]
) -> None:
    response = call(client, world, spec, headers("clinician"))
    assert response.status_code == 403


@pytest.mark.parametrize(
    "spec", [*STAFF_CALLS, *AUTHOR_CALLS, RESULT], ids=lambda s: f"{s[0]} {s[1]}"
)
def test_a_pathway_not_granted_is_403(
    client: TestClient, world: World, spec: tuple[str, str, Any]
) -> None:
    role = "author" if spec in AUTHOR_CALLS else "clinician"
    response = call(client, world, spec, headers(role, pathways=[unique("elsewhere")]))
    assert response.status_code == 403, response.text
    assert item_untouched(world)


@pytest.mark.parametrize("path", PATIENT_PATHS)
def test_another_patients_data_is_403_whether_or_not_it_exists(
    client: TestClient, world: World, path: str
) -> None:
    own = headers("patient", patient_id=world.other_patient)
    existing = client.get(path.format(id=world.patient), headers=own)
    missing = client.get(path.format(id="p-does-not-exist"), headers=own)
    assert existing.status_code == missing.status_code == 403
    assert existing.json() == missing.json()


def test_a_patient_reads_only_its_own_submission(client: TestClient, world: World) -> None:
    own = call(client, world, RESULT, headers("patient", patient_id=world.patient))
    assert own.status_code == 202  # not triaged yet: pending
    stranger = headers("patient", patient_id=world.other_patient)
    theirs = call(client, world, RESULT, stranger)
    missing = client.get("/api/submissions/QuestionnaireResponse/qr-none/result", headers=stranger)
    assert theirs.status_code == missing.status_code == 403
    assert theirs.json() == missing.json()
