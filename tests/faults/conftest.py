"""The fault suite: its own PostgreSQL and Redis, the API (uvicorn), two Celery
workers and beat, started once and removed at the end whatever happened; and the table of
accepted / triaged / lost / doubled per fault printed after the run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import ROOT, _activate, _prepare, _restore
from tests.faults.stack import Stack, StackError
from tests.faults.tally import RESULTS

WORKERS = ("worker-a", "worker-b")


@pytest.fixture(scope="package")
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    """Started once for the suite (package scope: stopped right after its last test)."""
    stack = Stack.create()
    failed_before = request.session.testsfailed
    try:
        try:
            stack.postgres.start()
            stack.redis.start()
            previous = _activate(stack.env)
            try:
                _prepare(stack.env)  # migrations and the pathways in rules/
            finally:
                _restore(previous)
            stack.start_api()
            for name in WORKERS:
                stack.start_worker(name)
            stack.start_beat()
        except StackError as exc:
            pytest.fail(f"the fault suite's services did not start: {exc}", pytrace=False)
        yield stack
    finally:
        failed = request.session.testsfailed > failed_before
        stack.close(keep_logs=ROOT / "test-artifacts" / "faults" if failed else None)


@pytest.fixture
def running(stack: Stack) -> Iterator[Stack]:
    """The stack with every process alive; this process counts in the same database."""
    dead = stack.exited()
    assert not dead, f"processes of the fault suite exited: {dead}"
    previous = _activate(stack.env)
    try:
        yield stack
    finally:
        _restore(previous)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not RESULTS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("faults: every accepted resource triaged exactly once")
    head = f"{'fault':<38} {'accepted':>8} {'triaged':>8} {'lost':>5} {'doubled':>8}"
    write(f"{head} {'refused':>8} {'re-sent':>8} {'items ok':>9} {'seconds':>8}")
    for row in RESULTS:
        write(
            f"{row.fault:<38} {row.accepted:>8} {row.triaged:>8} {row.lost:>5} "
            f"{row.doubled:>8} {row.refused:>8} {row.resent:>8} {row.items:>9} {row.seconds:>8.1f}"
        )
