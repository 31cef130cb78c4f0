"""The errors groomwatch raises on purpose. Entry points turn :class:`InputError` into exit status 2
(or HTTP 422) with its message, and never show a traceback for it."""

from __future__ import annotations


class GroomwatchError(Exception):
    """Base class of every error groomwatch raises on purpose."""


class InputError(GroomwatchError):
    """Bad input from a user: a file, a record, an option. The message says what and where."""


class RecordError(InputError):
    """One record is invalid. ``field`` is a path such as ``messages[3].text``."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.reason = message
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class FormatError(InputError):
    """A file cannot be read in the format asked for (or any format, with ``auto``).

    ``path`` and ``line`` (1-based line, or record number where a format has no lines) locate the
    problem; ``field`` names the field at fault where there is one.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.reason = message
        self.path = path
        self.line = line
        self.field = field
        where = path or "<input>"
        if line is not None:
            where += f", line {line}"
        if field:
            where += f", field {field}"
        super().__init__(f"{where}: {message}")


class ModelError(GroomwatchError):
    """A model artifact is missing, corrupt or of an unsupported version."""
