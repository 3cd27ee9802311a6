"""Structured logs: one JSON object a line, configured the same way for the API, the worker,
the scheduler and ``triage run``.

Each line has ``time``, ``level``, ``logger``, ``message``, ``service``, ``request_id`` (when
known) and only the extras named in :data:`SAFE_EXTRAS`. Logs never carry patient data:
code logs ids, counts and exception types, and this module keeps what libraries add out
too: an exception's message (SQLAlchemy quotes bound parameters, pydantic the input) is
replaced by its type and stack, and Celery's task-failure lines by the exception's type.
``LOG_FORMAT=text`` gives a readable line instead (the default in development).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import logging.config
import re
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
# True inside request_context(): only there may adopt_request_id() change the id, so a job
# called outside a task (a test, a command) cannot leave an id behind in its thread.
_OPEN: ContextVar[bool] = ContextVar("request_context_open", default=False)

# Extras that a line may carry: ids, routes, counts and types, never values.
SAFE_EXTRAS = (
    "method",
    "route",
    "status",
    "duration_ms",
    "outbox_id",
    "task",
    "attempt",
    "count",
    "worker",
)
STACK_FRAMES = 30
# Loggers that would otherwise print full URLs (with query strings) or request lines.
QUIET = {"httpx": "WARNING", "httpcore": "WARNING", "urllib3": "WARNING"}


@contextmanager
def request_context(request_id: str | None) -> Iterator[None]:
    """Log lines written inside carry ``request_id``; the previous id is back afterwards."""
    token, opened = REQUEST_ID.set(request_id), _OPEN.set(True)
    try:
        yield
    finally:
        _OPEN.reset(opened)
        REQUEST_ID.reset(token)


def adopt_request_id(request_id: str | None) -> None:
    """Inside a :func:`request_context`, switch to the id stored with the work (an outbox
    row keeps the id of the request that stored it, however often it is re-sent)."""
    if request_id and _OPEN.get():
        REQUEST_ID.set(request_id)


def current_request_id() -> str | None:
    return REQUEST_ID.get()


class HidePatientData(logging.Filter):
    """Celery's task-failure lines quote ``repr(exception)``, which may quote patient data:
    keep the exception's type (or a retry's delay) only."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("celery") and isinstance(record.args, dict):
            exc = record.args.get("exc")
            if isinstance(exc, str):
                args = dict(record.args)
                args["exc"] = re.split(r"[(:]", exc, maxsplit=1)[0].strip()
                record.args = args
        return True


def _error_fields(exc_info: Any) -> dict[str, Any]:
    kind, value, tb = exc_info
    if kind is None:
        return {}
    fields: dict[str, Any] = {"error": kind.__name__}
    if isinstance(value, OSError):  # a socket or a file: its text names no patient
        fields["error_text"] = str(value)
    frames = traceback.extract_tb(tb)[-STACK_FRAMES:]
    fields["stack"] = [f"{f.filename}:{f.lineno} in {f.name}" for f in frames]
    return fields


def _time(record: logging.LogRecord) -> str:
    moment = dt.datetime.fromtimestamp(record.created, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object a line."""

    def __init__(self, service: str = "triage") -> None:
        super().__init__()
        self.service = service

    def fields(self, record: logging.LogRecord) -> dict[str, Any]:
        data: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": self.service,
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            data["request_id"] = request_id
        for key in SAFE_EXTRAS:
            if key in record.__dict__:
                data[key] = record.__dict__[key]
        if record.exc_info:
            data.update(_error_fields(record.exc_info))
        return data

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(self.fields(record), ensure_ascii=False, default=str)


class TextFormatter(JsonFormatter):
    """The same fields, readable: ``time LEVEL service logger [request id] message k=v``."""

    def format(self, record: logging.LogRecord) -> str:
        data = self.fields(record)
        when, level, service = data.pop("time"), data.pop("level"), data.pop("service")
        head = f"{when} {level:<7} {service} {data.pop('logger')}"
        request_id = data.pop("request_id", None)
        line = f"{head} [{request_id}] " if request_id else f"{head} "
        line += str(data.pop("message"))
        stack = data.pop("stack", [])
        line += "".join(f" {key}={value}" for key, value in data.items())
        return line + "".join(f"\n    at {frame}" for frame in stack)


def make_formatter(service: str = "triage", fmt: str = "json") -> logging.Formatter:
    return TextFormatter(service) if fmt == "text" else JsonFormatter(service)


def chosen_format() -> str:
    """``LOG_FORMAT`` when set; otherwise text in development and JSON everywhere else."""
    from runtime.settings import get_settings

    settings = get_settings()
    if settings.log_format:
        return str(settings.log_format)
    return "text" if settings.environment == "development" else "json"


def dict_config(service: str, level: str | int = "INFO", fmt: str | None = None) -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` dict: also given to uvicorn as its ``log_config``,
    so every uvicorn worker process logs the same way. Uvicorn's access log is off: the
    API's middleware writes one line per request with the route template, never the raw
    path and query (``/fhir/Patient?identifier=...`` would name a national id)."""
    level_name = logging.getLevelName(level) if isinstance(level, int) else level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"hide": {"()": HidePatientData}},
        "formatters": {
            "triage": {
                "()": make_formatter,
                "service": service,
                "fmt": fmt or chosen_format(),
            }
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "triage",
                "filters": ["hide"],
            }
        },
        "root": {"level": level_name, "handlers": ["stderr"]},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "CRITICAL"},
            **{name: {"level": quiet} for name, quiet in QUIET.items()},
        },
    }


def configure_logging(service: str, level: str | int = "INFO", fmt: str | None = None) -> None:
    """Send every logger's lines to stderr in the chosen format, tagged with ``service``."""
    logging.config.dictConfig(dict_config(service, level, fmt))
    logging.captureWarnings(True)
