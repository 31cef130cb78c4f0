"""Structured logs for the service: one JSON object a line on stderr.

What is logged: the request id, method, the route *template* (``/v1/conversations/{id}/messages``,
never the concrete path, whose ids are the platform's), status, duration, tenant name, and events
of the webhook loop (event id, attempt, HTTP status). What is never logged: message text, findings'
evidence, request or response bodies, query strings, API keys, webhook secrets. Exceptions are
logged by type and place only, because an exception's message can carry the data it failed on.
"""

from __future__ import annotations

import atexit
import copy
import json
import logging
import queue
import sys
import threading
import traceback
from datetime import UTC, datetime
from logging.handlers import QueueHandler
from typing import Any, TextIO

LOGGER_NAME = "groomwatch.server"

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
_LINE = json.JSONEncoder(default=str)  # json.dumps(..., default=str) builds one every call


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
        return _LINE.encode(out)


class _Enqueue(QueueHandler):
    """Hands records to the writer thread. Unlike the standard ``prepare``, never renders a
    traceback into the message (the JSON lines carry no exception text)."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        if not record.args and record.exc_info is None and record.stack_info is None:
            return record  # nothing to render or drop (the access log's records): no copy
        out = copy.copy(record)
        out.msg = record.getMessage()
        out.args = None
        out.exc_info = None
        out.exc_text = None
        out.stack_info = None
        return out


class _BatchWriter:
    """Writes the queued records as JSON lines to ``stream``, in one write every ``period``
    seconds, from a daemon thread (and once more at exit).

    The standard ``QueueListener`` blocks on the queue, so every record wakes its thread, which
    then takes the GIL from the event loop, formats one line and makes one ``write`` system
    call: per request, a thread switch both ways and a system call. Woken on a timer, the thread
    writes whatever came in meanwhile at once; a line reaches stderr at most ``period`` late."""

    def __init__(
        self,
        records: queue.SimpleQueue[logging.LogRecord],
        stream: TextIO,
        formatter: logging.Formatter,
        period: float = 0.05,
    ) -> None:
        self.records, self.stream, self.formatter, self.period = records, stream, formatter, period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="groomwatch-log", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self.flush()

    def flush(self) -> None:
        lines: list[str] = []
        while True:
            try:
                record = self.records.get_nowait()
            except queue.Empty:
                break
            try:
                lines.append(self.formatter.format(record))
            except Exception:  # a record that cannot be formatted is left out, not the others
                lines.append(json.dumps({"level": "error", "event": "log record not formatted"}))
        if lines:
            try:
                self.stream.write("\n".join(lines) + "\n")
                self.stream.flush()
            except (OSError, ValueError):  # stderr closed (at exit): nothing left to do
                pass


def configure_logging(level: str = "INFO") -> None:
    """Send the service's logs as JSON to stderr (idempotent).

    The lines are written by a background thread (:class:`_BatchWriter`): the request path (the
    event loop's access log) only puts a record on a queue and never waits on a write to stderr,
    which, with worker threads busy, would make it wait for the GIL after every request."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level.upper())
    if not any(getattr(h, "_groomwatch", False) for h in logger.handlers):
        records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        writer = _BatchWriter(records, sys.stderr, JsonFormatter())
        writer.start()
        atexit.register(writer.stop)  # writes what is still queued
        handler = _Enqueue(records)
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
