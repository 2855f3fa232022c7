"""structlog JSON logging with an allowlist redaction processor.

A log line may carry only fields named in ``SAFE_FIELDS`` (ids, codes, counts,
durations, outcomes). Any other field's value is replaced by ``[redacted]``, and
exceptions are reduced to their class name, so no name, birth date, phone,
address, free text or token can reach a log line by accident: a new field must
be added here on purpose. Ids are bound per request through contextvars.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog

SAFE_FIELDS = frozenset(
    {
        "event",
        "level",
        "timestamp",
        "logger",
        "request_id",
        "referral_id",
        "delivery_id",
        "client_id",
        "destination",
        "destination_type",
        "consent_id",
        "subscription_id",
        "task_id",
        "resource_type",
        "resource_id",
        "worker_id",
        "method",
        "path",
        "status",
        "status_code",
        "outcome",
        "reason_code",
        "lane",
        "attempt",
        "attempts",
        "duration_ms",
        "count",
        "error_type",
        "risk_level",
        "pathway",
        "urgency",
        "decision",
        "retry_in_s",
        "host",
        "port",
        "database",
        "version",
        "seq",
        "rule",
    }
)
REDACTED = "[redacted]"


def redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Keep allowlisted fields; replace every other value; reduce exceptions to a type name."""
    exc = event.pop("exc_info", None)
    if exc:
        exc_value = sys.exc_info()[1] if exc is True else exc
        if isinstance(exc_value, tuple):
            exc_value = exc_value[1]
        event["error_type"] = type(exc_value).__name__
    for key in list(event):
        if key not in SAFE_FIELDS:
            event[key] = REDACTED
        elif key == "path":
            event[key] = _path_without_identifiers(str(event[key]))
    return event


def _path_without_identifiers(path: str) -> str:
    """``/patients/{system}|{value}/...`` carries a person's identifier: drop it."""
    if path.startswith("/patients/"):
        rest = path.split("/", 3)
        return "/patients/" + REDACTED + ("/" + rest[3] if len(rest) > 3 else "")
    return path


def _dumps(obj: Any, default: Any = None) -> str:
    return orjson.dumps(obj, default=default).decode()


class _LibraryJson(logging.Formatter):
    """A library's log record as one JSON line: who and how bad, never its message text."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "event": "library.log",
            "logger": record.name,
            "level": record.levelname.lower(),
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            line["error_type"] = record.exc_info[0].__name__
        return _dumps(line)


def configure_logging(level: str = "INFO", stream: Any = None) -> None:
    """JSON lines to ``stream`` (stderr by default); idempotent."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact,
            structlog.processors.JSONRenderer(serializer=_dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(file=stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
    # Libraries log through the standard library: keep them quiet, JSON, and free of payloads.
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_LibraryJson())
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    # httpx logs every URL at INFO (a search URL can carry an identifier); the
    # database drivers log statements at DEBUG. None of that belongs in our logs.
    for noisy in ("httpx", "httpcore", "aiosqlite", "asyncpg", "sqlalchemy", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
