"""Schemathesis over the service's own OpenAPI document (FastAPI's /openapi.json), in-process
on PostgreSQL, with a valid token of each kind of caller: no operation ever answers 5xx, and
every 2xx body fits the schema the document declares for it.

Path parameters and the identifying query parameters are drawn both from what Schemathesis
generates and from the seeded objects, so the calls reach real patients, items and resources.
The FHIR create endpoints take raw JSON the document does not describe: see test_fhir_fuzz.

Schemathesis 4.32's own pytest integration (``from_fixture(...).parametrize()``) reads
``request.node._nodeid``, which pytest 9 no longer has; so each operation runs as a subtest:
a Hypothesis test over Schemathesis' strategies (valid and invalid inputs) and its checks.
Reproducible: derandomized, no example database.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.app import create_app
from tests.abuse.world import ELSEWHERE, MISSING_PATIENT, OTHER_PATHWAY, PATHWAY, World

# Each a valid token: a patient (for the seeded patient), clinicians granted every pathway
# and one pathway, and an author.
CALLERS = ("patient", "clinician_all", "clinician", "author")
EXAMPLES_PER_OPERATION = 20
# Probes whose 503 means "not ready" by design (no worker runs here); public, no input.
PROBES = ("GET /health", "GET /ready", "GET /metrics")


@pytest.fixture(scope="module", params=CALLERS)
def caller(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _known_values(world: World) -> dict[str, list[Any]]:
    """Real values for each parameter name the document uses."""
    rtypes = ["QuestionnaireResponse", "Observation", "Questionnaire"]
    return {
        "patient_id": [world.patient, world.other, MISSING_PATIENT],
        "item_id": [world.item, world.other_item],
        "resource_id": [world.response, world.observation, world.questionnaire],
        "rtype": rtypes,
        "resource_type": rtypes,
        "pathway_id": [PATHWAY, OTHER_PATHWAY, ELSEWHERE],
        "pathway": [PATHWAY, OTHER_PATHWAY, ELSEWHERE],
        "identifier": [world.identifier, world.identifier.split("|")[1]],
        "url": ["http://example.no/fhir/Questionnaire/epilepsy-followup"],
    }


def _mixed(values: Any, known: dict[str, list[Any]]) -> st.SearchStrategy[Any]:
    """Each parameter: the generated value, or one of the real ones."""
    if not isinstance(values, dict):  # negative generation may give no mapping at all
        return st.just(values)
    return st.fixed_dictionaries(
        {
            name: st.sampled_from([value, *known[name]]) if name in known else st.just(value)
            for name, value in values.items()
        }
    )


@pytest.fixture
def api_schema(world: World, caller: str) -> Any:
    config = schemathesis.Config.from_dict(
        {
            "generation": {
                "mode": "all",  # valid and invalid inputs
                "max-examples": EXAMPLES_PER_OPERATION,
                "deterministic": True,
                "database": "none",
                "allow-x00": True,  # NUL in paths and queries once answered 500 on PostgreSQL
            },
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": False},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": False},
            },
        }
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(), config=config)
    known = _known_values(world)

    @schema.hook
    def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
        return _mixed(path_parameters, known)

    @schema.hook
    def flatmap_query(context: Any, query: dict[str, Any]) -> Any:
        return _mixed(query, known)

    return schema


def _no_5xx(operation: Any, world: World, caller: str) -> None:
    """Positive and negative cases for one operation, bounded and reproducible."""
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    def calls(case: Any) -> None:
        response = case.call(headers=world.headers(caller))
        checks = [not_a_server_error]
        if 200 <= response.status_code < 300:
            checks.append(response_schema_conformance)
        case.validate_response(response, checks=checks)

    calls()


def test_no_operation_answers_5xx(
    api_schema: Any, world: World, caller: str, subtests: pytest.Subtests
) -> None:
    labels = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)
        if operation.label in PROBES:
            continue
        with subtests.test(msg=operation.label):
            _no_5xx(operation, world, caller)
    assert len(labels) >= 20, labels  # the document was read, with every operation in it
