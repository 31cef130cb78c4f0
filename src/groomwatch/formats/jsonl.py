"""Canonical conversation JSONL (DESIGN.md): one conversation a line. Reader and writer.

A file on disk can also be read in byte ranges cut at line breaks (:func:`line_ranges`,
:func:`read_range`), so that several processes share the reading of one file (``groomwatch scan
--workers``): every line of a range is read with the rules and messages of :func:`read` (the
same code), and numbered from the range's first line, so that the caller adds the lines of the
ranges before it to name the line in the file.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Generic, TextIO, TypeVar

from groomwatch.conversation import Conversation
from groomwatch.errors import FormatError, RecordError
from groomwatch.formats.base import ChatFormat, ReadContext, ReadOptions, Source
from groomwatch.formats.decoding import bom_encoding, iter_lines, split_lines

_T = TypeVar("_T")

#: Bytes read at a time when looking for a line break.
_SCAN_BYTES = 64 * 1024


def sniff(head: str, suffix: str | None) -> bool:
    for line in head.splitlines()[:5]:
        line = line.strip()
        if not line:
            continue
        if not (line.startswith("{") and ('"messages"' in line or '"id"' in line)):
            return False
        try:
            return isinstance(json.loads(line), dict)
        except ValueError:
            return len(line) > 1000  # a long first record cut by the head
    return False


def read(source: Source, ctx: ReadContext) -> Iterator[Conversation]:
    with source.open() as stream:
        lines = iter_lines(stream, ctx, fix_mojibake=False)
        yield from _records(lines, ctx, _conversation(ctx))


def _conversation(ctx: ReadContext) -> Callable[[Any, int], Conversation]:
    def build(data: Any, number: int) -> Conversation:
        return Conversation.from_dict(data, source=f"{ctx.path}:{number}")

    return build


def _records(
    lines: Iterable[tuple[int, str]], ctx: ReadContext, build: Callable[[Any, int], _T]
) -> Iterator[_T]:
    """``build(record, line number)`` for every line holding a JSON value, blank lines left
    out; a line that is not JSON, or that ``build`` refuses with :class:`RecordError`, goes to
    ``ctx.fail``."""
    for number, line in lines:
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except (ValueError, RecursionError) as exc:
            ctx.fail(f"not valid JSON: {_json_reason(exc)}", line=number)
            continue
        try:
            yield build(data, number)
        except RecordError as exc:
            ctx.fail(exc.reason, line=number, field=exc.field)


def _json_reason(exc: BaseException) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)


def splittable(path: Path, options: ReadOptions | None = None) -> bool:
    """Whether :func:`read_range` over the :func:`line_ranges` of the file ``path`` reads what
    :func:`read` reads: its lines are bytes ending in ``\\n`` (not UTF-16 or UTF-32, which are
    decoded as a whole), and after a UTF-8 byte-order mark its first line and the mark together
    are not longer than ``max_record_bytes`` (a first line that only fits without the mark is
    left to :func:`read`, which takes the mark off before it applies the limit)."""
    limit = (options or ReadOptions()).max_record_bytes
    try:
        with path.open("rb") as f:
            head = f.read(4)
            encoding = bom_encoding(head)
            if encoding is None:
                return True
            if encoding != "utf-8-sig":
                return False
            f.seek(0)
            return _line_end(f, limit + 1) is not None
    except OSError:
        return False  # the reader says why


def _line_end(f: IO[bytes], most: int) -> int | None:
    """The offset just after the next ``\\n`` from the stream's position (or the end of the
    file), when it comes within ``most`` bytes; ``None`` otherwise."""
    start = f.tell()
    while f.tell() - start < most:
        block = f.read(min(_SCAN_BYTES, most - (f.tell() - start)))
        if not block:
            return f.tell()
        i = block.find(b"\n")
        if i >= 0:
            return f.tell() - len(block) + i + 1
    return None


def line_ranges(path: Path, chunk_bytes: int) -> Generator[tuple[int, int], None, None]:
    """``(start, end)`` byte offsets of consecutive ranges covering the file, each of about
    ``chunk_bytes`` bytes and ending just after a line break (or at the end of the file): a line
    longer than ``chunk_bytes`` makes its range longer. The file is read only around the cuts
    (and through long lines); ranges come as they are found."""
    if chunk_bytes < 1:
        raise ValueError(f"chunk_bytes must be >= 1, not {chunk_bytes!r}")
    size = path.stat().st_size
    with path.open("rb") as f:
        start = 0
        while start < size:
            cut = start + chunk_bytes
            if cut >= size:
                yield start, size
                return
            f.seek(cut - 1)  # a line break just before the cut ends the range at the cut
            end = _line_end(f, size)
            end = size if end is None else min(end, size)
            yield start, end
            start = end


@dataclass(slots=True)
class RangeRead(Generic[_T]):
    """What :func:`read_range` read of a range: the records in order; how many lines the range
    holds (whatever they held); and, when not skipping bad records, the first bad line's error,
    with the records before it kept in ``records``. Line numbers count from the range's first
    line."""

    records: list[_T] = field(default_factory=list)
    lines: int = 0
    error: FormatError | None = None


def read_range(
    path: Path,
    start: int,
    end: int,
    ctx: ReadContext,
    build: Callable[[Any, int], _T],
) -> RangeRead[_T]:
    """The records of the lines from byte ``start`` to byte ``end`` of the file ``path`` (as
    :func:`line_ranges` cuts them), read as :func:`read` reads the whole file: ``build(record,
    line number)`` of each line holding a JSON value (``Conversation.from_dict`` or a lighter
    view of the record with the same validation), a bad line reported through ``ctx.fail``. A
    UTF-8 byte-order mark is taken off when ``start`` is 0. Lines are numbered from 1 in the
    range; the first bad line, when ``ctx.skip_invalid`` is not set, ends the reading and is
    returned in :attr:`RangeRead.error` rather than raised (as is a file that cannot be opened)."""
    out: RangeRead[_T] = RangeRead()
    try:
        stream = path.open("rb")
    except OSError as exc:
        out.error = FormatError(f"cannot open: {exc.strerror or exc}", path=ctx.path)
        return out
    with stream:
        stream.seek(start)
        lines = _range_lines(stream, end - start, ctx, out, at_start=start == 0)
        try:
            out.records.extend(_records(lines, ctx, build))  # what came before an error stays
        except FormatError as exc:
            out.error = exc
    return out


def _range_lines(
    stream: IO[bytes], size: int, ctx: ReadContext, out: RangeRead[Any], *, at_start: bool
) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of the lines of the next ``size`` bytes of ``stream``: the line
    reading of :func:`~groomwatch.formats.decoding.iter_lines` (the same limit on a line, the
    same decoding, a too-long line reported and passed over), kept within the range. Counts the
    lines in ``out.lines`` as it goes."""
    left = size

    def read(n: int) -> bytes:
        nonlocal left
        if left <= 0:
            return b""
        raw = stream.readline(min(n, left))
        left -= len(raw)
        return raw

    first = None
    if at_start:
        first = read(ctx.options.max_record_bytes + 1)
        if first.startswith(codecs.BOM_UTF8):
            first = first[3:]

    def count(number: int) -> None:
        out.lines = number

    return split_lines(read, ctx, first=first, fix_mojibake=False, counted=count)


def write_jsonl(conversations: Iterable[Conversation], out: str | Path | TextIO) -> int:
    """Write conversations as canonical JSONL, one a line, UTF-8; returns how many were written.

    ``out`` is a path (created or replaced) or an open text stream (left open)."""
    if isinstance(out, str | Path):
        with Path(out).open("w", encoding="utf-8", newline="\n") as f:
            return _write(conversations, f)
    return _write(conversations, out)


def _write(conversations: Iterable[Conversation], f: TextIO | IO[str]) -> int:
    n = 0
    for conv in conversations:
        record = conv.to_dict()
        for key, value in conv.meta.items():  # reader extras (e.g. PAN 2012 predators) are kept
            record.setdefault(key, value)
        f.write(json.dumps(record, ensure_ascii=False, default=str))
        f.write("\n")
        n += 1
    return n


FORMAT = ChatFormat(
    name="jsonl",
    description="canonical conversation JSONL, one conversation a line",
    extensions=(".jsonl", ".ndjson"),
    sniff=sniff,
    read=read,
    exclusive=True,
)
