"""The pieces of ``/ready`` that need no database: the broker check and when all is ok."""

from __future__ import annotations

from pathlib import Path

from messaging.celery_app import broker_status
from runtime.settings import Settings
from usecases.fhir_read import version_of
from usecases.operations import Readiness


def test_ready_only_when_every_check_is_ok() -> None:
    assert Readiness({"database": "ok", "broker": "ok", "worker": "ok: 1 alive"}).ok
    assert not Readiness({"database": "ok", "broker": "ok", "worker": "no worker heartbeat"}).ok
    assert not Readiness({"database": "unavailable: OperationalError", "broker": "ok"}).ok


def test_the_embedded_broker_is_ready_once_its_folder_exists(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "broker"
    settings = Settings(environment="development", redis_url=None, broker_dir=folder)
    assert broker_status(settings) == "ok"
    assert folder.is_dir()


def test_a_redis_that_does_not_answer_is_named_with_the_error() -> None:
    settings = Settings(environment="development", redis_url="redis://127.0.0.1:1/0")
    assert broker_status(settings) == "unavailable: ConnectionError"


def test_a_stored_body_without_a_version_is_version_1() -> None:
    assert version_of({"resourceType": "Observation"}) == "1"
    assert version_of({"meta": {"versionId": "3"}}) == "3"
