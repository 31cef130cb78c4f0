"""Structured logs for the service: one JSON object a line on stderr.

What is logged: the request id, method, the route *template* (``/v1/conversations/{id}/messages``,
never the concrete path, whose ids are the platform's), status, duration, tenant name, and events
of the webhook loop (event id, attempt, HTTP status). What is never logged: message text, findings'
evidence, request or response bodies, query strings, API keys, webhook secrets. Exceptions are
logged by type and place only, because an exception's message can carry the data it failed on.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

LOGGER_NAME = "groomwatch.server"

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "event", ...extra fields}``."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        return json.dumps(out, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Send the service's logs as JSON to stderr (idempotent)."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level.upper())
    if not any(getattr(h, "_groomwatch", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._groomwatch = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False


def get_logger(name: str = "") -> logging.Logger:
    return logging.getLogger(f"{LOGGER_NAME}.{name}" if name else LOGGER_NAME)


def exception_summary(exc: BaseException) -> dict[str, Any]:
    """Type and innermost place of an exception, without its message or local values."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else None
    return {"error": type(exc).__name__, "where": where}
