"""What every reader shares: options, the report of what was read and skipped, the source of the
bytes, and the explicit registry of formats.

A reader is a :class:`ChatFormat`: a name, the file extensions it claims, a ``sniff`` function that
looks at the first bytes of a file, and a ``read`` function that turns a :class:`Source` into
conversations, streaming where the format allows it. Readers report a bad record through
:meth:`ReadContext.fail`, which raises :class:`~groomwatch.errors.FormatError` naming the file and
line, or, with ``skip_invalid``, records the record in the :class:`ReadReport` and goes on.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from groomwatch.conversation import Conversation
from groomwatch.errors import FormatError

DateOrder = Literal["dmy", "mdy", "ymd"]

#: Bytes of a file looked at to detect its format and encoding.
HEAD_BYTES = 64 * 1024


class ReadOptions(BaseModel):
    """How to read files whose layout is not fixed.

    CSV column names are matched case-insensitively; when one is unset it is found among the usual
    names (``text``/``message``/``segment``…). Without a conversation column every row is one
    conversation (its text one message), as in segment-level corpora.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    text_column: str | None = Field(None, description="CSV column holding the message text")
    label_column: str | None = Field(None, description="CSV column holding a 0/1 label")
    conversation_column: str | None = Field(
        None, description="CSV column holding the conversation id (rows grouped by it)"
    )
    author_column: str | None = Field(None, description="CSV column holding the author")
    time_column: str | None = Field(None, description="CSV column holding the time")
    delimiter: str | None = Field(
        None, min_length=1, max_length=1, description="CSV delimiter; sniffed when unset"
    )
    date_order: DateOrder | None = Field(
        None,
        description="order of day, month and year in WhatsApp/CSV dates; inferred when unset",
    )
    max_record_bytes: int = Field(
        32 * 1024 * 1024, gt=0, description="longest line or record accepted, in bytes"
    )


@dataclass(frozen=True, slots=True)
class SkippedRecord:
    """A record left out with ``skip_invalid``: where it was and why."""

    path: str
    line: int | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "reason": self.reason}

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}, line {self.line}"
        return f"{where}: {self.reason}"


@dataclass
class ReadReport:
    """What a read did: files and their formats, records skipped, notes such as an assumed date
    order or a guessed encoding. Readers fill it in as they go; it is complete once the iterator
    returned by :func:`~groomwatch.formats.read_conversations` is exhausted."""

    files: dict[str, str] = field(default_factory=dict)
    skipped: list[SkippedRecord] = field(default_factory=list)
    skipped_files: list[SkippedRecord] = field(default_factory=list)
    system_lines: int = 0
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": dict(self.files),
            "skipped": [s.to_dict() for s in self.skipped],
            "skipped_files": [s.to_dict() for s in self.skipped_files],
            "system_lines": self.system_lines,
            "notes": list(self.notes),
        }


class ReadContext:
    """Passed to a reader: the options, the report, and what to do with a bad record."""

    __slots__ = ("options", "path", "report", "skip_invalid")

    def __init__(
        self, path: str, options: ReadOptions, report: ReadReport, skip_invalid: bool
    ) -> None:
        self.path = path
        self.options = options
        self.report = report
        self.skip_invalid = skip_invalid

    def fail(self, message: str, *, line: int | None = None, field: str | None = None) -> None:
        """A record is bad: raise :class:`FormatError`, or record it and return when skipping."""
        if not self.skip_invalid:
            raise FormatError(message, path=self.path, line=line, field=field)
        reason = f"{field}: {message}" if field else message
        self.report.skipped.append(SkippedRecord(self.path, line, reason))

    def error(self, message: str, *, line: int | None = None) -> FormatError:
        """An error that ends the file whatever ``skip_invalid`` says (the file is not in this
        format at all, or cannot be resynchronised)."""
        return FormatError(message, path=self.path, line=line)


class Source:
    """Bytes to read: a file on disk or bytes in memory, with a name for messages."""

    __slots__ = ("_data", "_progress", "_stem", "name", "path")

    def __init__(
        self,
        *,
        path: Path | None = None,
        data: bytes | None = None,
        name: str | None = None,
        progress: bool = False,
        stem: str | None = None,
    ) -> None:
        if (path is None) == (data is None):
            raise ValueError("a Source is a path or bytes")
        self.path = path
        self._data = data
        self.name = name or (str(path) if path is not None else "<input>")
        self._progress = progress
        self._stem = stem

    @property
    def stem(self) -> str:
        """A conversation id for formats that hold one conversation per file."""
        if self._stem:
            return self._stem
        stem = Path(self.name).stem
        return stem if stem and not stem.startswith("<") else "conversation"

    @property
    def size(self) -> int:
        if self._data is not None:
            return len(self._data)
        assert self.path is not None
        return self.path.stat().st_size

    def open(self) -> IO[bytes]:
        """A binary stream of the whole input (with a progress bar on a slow file read)."""
        if self._data is not None:
            return io.BytesIO(self._data)
        assert self.path is not None
        try:
            raw = self.path.open("rb")
        except OSError as exc:
            raise FormatError(f"cannot open: {exc.strerror or exc}", path=self.name) from None
        if self._progress:
            return io.BufferedReader(_ProgressFile(raw, self.size, self.name), 1024 * 1024)
        return raw

    def read_all(self) -> bytes:
        with self.open() as f:
            return f.read()

    def head(self, n: int = HEAD_BYTES) -> bytes:
        if self._data is not None:
            return self._data[:n]
        assert self.path is not None
        try:
            with self.path.open("rb") as f:
                return f.read(n)
        except OSError as exc:
            raise FormatError(f"cannot open: {exc.strerror or exc}", path=self.name) from None


class _ProgressFile(io.RawIOBase):
    """A read-only file that shows a rich progress bar on stderr once reading has taken more
    than :attr:`DELAY` seconds, so quick reads print nothing."""

    DELAY = 0.75

    def __init__(self, raw: IO[bytes], total: int, name: str) -> None:
        super().__init__()
        self._raw = raw
        self._total = total
        self._name = Path(name).name
        self._done = 0
        self._start = time.monotonic()
        self._progress: Any = None
        self._task: Any = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        if n:
            self._advance(int(n))
        return int(n or 0)

    def _advance(self, n: int) -> None:
        self._done += n
        if self._progress is None:
            if time.monotonic() - self._start < self.DELAY:
                return
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(
                TextColumn("reading {task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self._name, total=self._total)
        self._progress.update(self._task, completed=self._done)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        self._raw.close()
        super().close()


Sniff = Callable[[str, str | None], bool]
Read = Callable[[Source, ReadContext], Iterator[Conversation]]


@dataclass(frozen=True, slots=True)
class ChatFormat:
    """One supported format.

    ``sniff(head, suffix)`` says whether the decoded first bytes look like this format;
    ``extensions`` are the file suffixes it claims (lower case, with the dot); ``exclusive``
    extensions are trusted without sniffing (``.jsonl`` is JSONL even when its first line is bad,
    so the JSONL reader reports that line).
    """

    name: str
    description: str
    extensions: tuple[str, ...]
    sniff: Sniff
    read: Read
    exclusive: bool = False


class FormatRegistry:
    """The explicit registry of readers, in detection order (most specific first)."""

    def __init__(self) -> None:
        self._formats: dict[str, ChatFormat] = {}

    def add(self, fmt: ChatFormat) -> ChatFormat:
        if fmt.name in self._formats:
            raise ValueError(f"format {fmt.name!r} is registered twice")
        if fmt.name == "auto":
            raise ValueError("'auto' is not a format name")
        self._formats[fmt.name] = fmt
        return fmt

    def get(self, name: str) -> ChatFormat:
        try:
            return self._formats[name]
        except KeyError:
            known = ", ".join(["auto", *self._formats])
            raise FormatError(f"unknown format {name!r}; choose one of {known}") from None

    def names(self) -> list[str]:
        return list(self._formats)

    def __iter__(self) -> Iterator[ChatFormat]:
        return iter(self._formats.values())

    def __contains__(self, name: object) -> bool:
        return name in self._formats

    def __len__(self) -> int:
        return len(self._formats)
