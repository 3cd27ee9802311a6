"""The log format: JSON lines with the agreed fields, the request id from the context, only
safe extras, and no exception text (which may quote patient data)."""

from __future__ import annotations

import io
import json
import logging
import sys

from runtime.logs import (
    HidePatientData,
    JsonFormatter,
    TextFormatter,
    adopt_request_id,
    current_request_id,
    request_context,
)


def _logger(formatter: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(HidePatientData())
    logger = logging.getLogger(f"test.logs.{id(stream)}")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_line_has_the_agreed_fields_and_the_request_id_of_its_context() -> None:
    logger, stream = _logger(JsonFormatter("worker"))
    logger.info("outside")
    with request_context("req-1"):
        logger.warning("outbox %s done", 7, extra={"outbox_id": 7})
    logger.info("after")
    outside, inside, after = _lines(stream)
    assert set(outside) == {"time", "level", "logger", "message", "service"}
    assert inside["request_id"] == "req-1" and inside["outbox_id"] == 7
    assert (inside["level"], inside["message"], inside["service"]) == (
        "WARNING",
        "outbox 7 done",
        "worker",
    )
    assert str(inside["time"]).endswith("Z")
    assert "request_id" not in after


def test_extras_outside_the_safe_list_are_left_out() -> None:
    logger, stream = _logger(JsonFormatter("api"))
    logger.info("posted", extra={"route": "/fhir/Observation", "body": {"name": "Kari"}})
    (line,) = _lines(stream)
    assert line["route"] == "/fhir/Observation"
    assert "body" not in line and "Kari" not in stream.getvalue()


def test_an_exception_is_logged_by_type_and_stack_without_its_message() -> None:
    logger, stream = _logger(JsonFormatter("api"))
    try:
        raise ValueError("Kari Nordmann 13031353453")
    except ValueError:
        logger.exception("could not store")
    (line,) = _lines(stream)
    assert line["error"] == "ValueError"
    assert any("test_logs.py" in frame for frame in line["stack"])  # type: ignore[attr-defined]
    assert "Kari" not in stream.getvalue() and "13031353453" not in stream.getvalue()


def test_celery_failure_lines_keep_the_exception_type_only() -> None:
    logger, stream = _logger(JsonFormatter("worker"))
    celery = logging.getLogger("celery.app.trace")
    celery.handlers, celery.propagate = logger.handlers, False
    try:
        celery.error(
            "Task %(name)s[%(id)s] %(description)s: %(exc)s",
            {
                "name": "t",
                "id": "1",
                "description": "raised unexpected",
                "exc": "IntegrityError('(psycopg.errors.UniqueViolation) name=Kari')",
            },
        )
    finally:
        celery.handlers, celery.propagate = [], True
    (line,) = _lines(stream)
    assert line["message"] == "Task t[1] raised unexpected: IntegrityError"


def test_a_job_adopts_its_rows_request_id_only_inside_a_context() -> None:
    adopt_request_id("stray")  # outside any context: nothing changes
    assert current_request_id() is None
    with request_context("from-header"):
        adopt_request_id("from-row")
        assert current_request_id() == "from-row"
        adopt_request_id(None)  # a row without an id keeps the header's
        assert current_request_id() == "from-row"
    assert current_request_id() is None


def test_the_text_form_is_one_readable_line_with_the_same_fields() -> None:
    logger, stream = _logger(TextFormatter("beat"))
    with request_context("req-2"):
        logger.info("sent %d", 3, extra={"count": 3})
    text = stream.getvalue()
    assert " INFO    beat test.logs." in text and "[req-2] sent 3 count=3" in text
    assert text.count("\n") == 1


def test_configure_logging_sends_every_logger_to_stderr_as_json() -> None:
    import subprocess

    code = (
        "import logging; from runtime.logs import configure_logging;"
        "configure_logging('api', fmt='json');"
        "logging.getLogger('uvicorn.error').info('started');"
        "logging.getLogger('uvicorn.access').info('GET /fhir/Patient?identifier=x|123');"
        "logging.getLogger('httpx').info('HTTP Request: GET http://h/?identifier=x|123')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(line["logger"], line["message"]) for line in lines] == [("uvicorn.error", "started")]
    assert lines[0]["service"] == "api"
