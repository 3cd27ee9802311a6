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

Here are the fixtures; the tools are beside them: service.py starts ``triage run``,
client.py is the ``Api`` the tests drive it with, tokens.py signs the patient tokens,
recording.py keeps every response, fhir_builders.py makes what is posted and answers.py
reads what comes back.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.safety.client import Api
from tests.safety.recording import Recorder
from tests.safety.service import BACKENDS, triage_run

# --- every response of the session, for the "no 5xx anywhere" check --------------------------


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


@pytest.fixture(scope="session", params=BACKENDS)
def api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, recorder: Recorder
) -> Iterator[Api]:
    """``triage run`` on one backend, ready (demo loaded), for the whole session."""
    name = request.param
    if name not in ("embedded", "postgres+redis"):
        raise ValueError(f"SAFETY_BACKENDS: unknown backend {name!r}")
    folder = tmp_path_factory.mktemp(f"safety-{name.replace('+', '-')}")
    with triage_run(name, folder, recorder) as service:
        yield service
