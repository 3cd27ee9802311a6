"""Write rate limits through the whole app, on both backends: per token subject (429 +
Retry-After, nothing stored; in-process on the embedded default, in Redis with PostgreSQL +
Redis), and failed web sign-ins limited per address."""

from __future__ import annotations

import time

from sqlmodel import select

from store.db import session_scope
from store.models import Resource
from tests.integration.api_rows import add_item, add_patient, headers, unique
from tests.integration.fhir_helpers import weight
from tests.integration.security_helpers import Make, patient_headers, retry_after


def stored(patient: str) -> int:
    with session_scope() as session:
        return len(session.exec(select(Resource).where(Resource.patient_id == patient)).all())


def test_a_patient_is_limited_and_a_fresh_token_does_not_reset_it(make: Make) -> None:
    client = make(RATE_LIMIT_PATIENT_PER_MINUTE="5")
    patient, other = add_patient(), add_patient()
    for n in range(5):
        obs = weight(f"Patient/{patient}", n, ident=unique("rl"))
        response = client.post("/fhir/Observation", json=obs, headers=patient_headers(patient))
        assert response.status_code == 201, response.text
    refused = client.post(
        "/fhir/Observation",
        json=weight(f"Patient/{patient}", 9, ident=unique("rl")),
        headers=patient_headers(patient, hours=2),  # a fresh token, the same subject
    )
    assert refused.status_code == 429, refused.text
    assert 1 <= retry_after(refused) <= 12  # 5 a minute: a token every 12 s
    assert refused.headers["content-type"].startswith("application/fhir+json")
    body = refused.json()
    assert body["resourceType"] == "OperationOutcome"
    assert [issue["code"] for issue in body["issue"]] == ["throttled"]
    assert stored(patient) == 5, "the refused resource is not stored"
    # Another patient has a budget of its own; reads are not limited.
    obs = weight(f"Patient/{other}", 1, ident=unique("rl"))
    assert client.post("/fhir/Observation", json=obs, headers=patient_headers(other)).is_success
    read = client.get(f"/api/patients/{patient}/triage", headers=patient_headers(patient))
    assert read.status_code != 429


def test_staff_writes_get_the_json_shape_and_retry_after_is_honest(make: Make) -> None:
    client = make(RATE_LIMIT_STAFF_PER_MINUTE="30")  # a token every 2 s
    auth = headers("clinician", subject=unique("clinician:rl"))
    accepted = 0
    for _ in range(60):
        response = client.post("/api/worklist/w-none/acknowledge", json={}, headers=auth)
        if response.status_code == 429:
            break
        assert response.status_code == 404, response.text
        accepted += 1
    assert accepted >= 30 and response.status_code == 429
    assert response.headers["content-type"].startswith("application/json")
    assert "too many" in response.json()["error"]
    wait = retry_after(response)
    assert wait <= 2
    time.sleep(wait)
    again = client.post("/api/worklist/w-none/acknowledge", json={}, headers=auth)
    assert again.status_code == 404, "after Retry-After seconds the write is taken"
    assert client.get("/api/worklist", headers=auth).status_code == 200


def test_the_pages_writes_count_for_the_signed_in_subject(make: Make) -> None:
    client = make(RATE_LIMIT_STAFF_PER_MINUTE="3")
    subject = unique("clinician:web")
    token = headers("clinician", subject=subject)["Authorization"][7:]
    assert client.post("/app/login", data={"token": token}).status_code == 303
    item = add_item(add_patient(), unique("web-rl"), "red")
    codes = [client.post(f"/app/items/{item}/nothing", data={}).status_code for _ in range(4)]
    assert codes == [404, 404, 404, 429]
    # The same subject's bearer token shares the budget.
    bearer = headers("clinician", subject=subject)
    assert client.post("/api/worklist/w-x/acknowledge", json={}, headers=bearer).status_code == 429


def test_zero_turns_a_limit_off(make: Make) -> None:
    client = make(RATE_LIMIT_STAFF_PER_MINUTE="0")
    auth = headers("clinician", subject=unique("clinician:off"))
    codes = {
        client.post("/api/worklist/w-x/resolve", json={}, headers=auth).status_code
        for _ in range(40)
    }
    assert codes == {404}


def test_failed_sign_ins_are_limited_per_address_and_successful_ones_are_not(
    make: Make,
) -> None:
    client = make(RATE_LIMIT_LOGIN_PER_MINUTE="10")
    good = headers("clinician", subject=unique("clinician:login"))["Authorization"][7:]
    for _ in range(15):  # a morning's sign-ins behind one proxy address
        assert client.post("/app/login", data={"token": good}).status_code == 303
    for n in range(10):
        response = client.post("/app/login", data={"token": f"guess-{n}"})
        assert response.status_code == 401
    locked = client.post("/app/login", data={"token": good})
    assert locked.status_code == 429
    assert 1 <= retry_after(locked) <= 6
    assert locked.headers["content-type"].startswith("text/html")
    assert "For mange mislykkede innlogginger" in locked.text
    assert 'name="token"' in locked.text, "the form is shown again"
    assert "triage_session" not in locked.headers.get("set-cookie", "")
    # The API is keyed by token, not by address: unaffected.
    auth = headers("clinician", subject=unique("clinician:api"))
    assert client.post("/api/worklist/w-x/resolve", json={}, headers=auth).status_code == 404
