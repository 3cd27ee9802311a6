"""The demo loader posts like a patient app should: a 503 (the database busy) or a 429 is
sent again after the wait the service asks for; any other refusal is not."""

from __future__ import annotations

import json

import httpx

from seeds.load import _post


def _client(statuses: list[int], seen: list[httpx.Request]) -> httpx.Client:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status = statuses.pop(0)
        return httpx.Response(status, headers={"Retry-After": "0"}, json={"status": status})

    return httpx.Client(base_url="http://service", transport=httpx.MockTransport(answer))


def test_a_busy_service_gets_the_same_body_again_until_it_answers() -> None:
    seen: list[httpx.Request] = []
    with _client([503, 429, 503, 201], seen) as client:
        body = {"pathway": "epilepsy", "enrolled_at": "2026-05-01T00:00:00+00:00"}
        response = _post(client, "/api/patients/p-1/enrolments", body, "tok", "application/json")
    assert response.status_code == 201
    assert len(seen) == 4
    assert [json.loads(r.content) for r in seen] == [body] * 4
    assert {r.headers["content-type"] for r in seen} == {"application/json"}
    assert {r.headers["authorization"] for r in seen} == {"Bearer tok"}


def test_a_refusal_is_not_sent_again_and_a_busy_service_not_forever() -> None:
    seen: list[httpx.Request] = []
    with _client([422], seen) as client:
        assert _post(client, "/fhir", {}, "tok").status_code == 422
    assert len(seen) == 1 and seen[0].headers["content-type"] == "application/fhir+json"
    seen.clear()
    with _client([503] * 6, seen) as client:
        assert _post(client, "/fhir", {}, "tok").status_code == 503
    assert len(seen) == 6
