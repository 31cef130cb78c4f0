"""Turning bytes from chat exports into text: byte-order marks, UTF-8, legacy encodings
(Latin-1/Windows-1252 and others, guessed with charset-normalizer) and mojibake (UTF-8 read as
Latin-1 somewhere upstream, repaired with ftfy).

Line formats (JSONL, CSV) are decoded line by line so that a 2 GB file streams and one badly
encoded line does not change how the others are read.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable, Iterator
from typing import IO

import charset_normalizer
import ftfy
from ftfy.badness import is_bad

from groomwatch.formats.base import ReadContext

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def bom_encoding(head: bytes) -> str | None:
    """The encoding a byte-order mark announces, if the data starts with one."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    return None


def repair(text: str) -> str:
    """Undo mojibake (``cafÃ©`` → ``café``); text that looks right is returned as it is."""
    if text.isascii() or not is_bad(text):
        return text
    return ftfy.fix_encoding(text)


def guess_encoding(data: bytes) -> str:
    """The encoding of bytes that are not UTF-8, guessed by charset-normalizer.

    Windows-1252 (a superset of Latin-1's letters) wins whenever it is among the plausible
    encodings: on short chat texts the detector cannot tell Western European code pages apart
    (``café`` is as valid in Windows-1250), and 1252 is by far the most common. Clearly other
    scripts (Cyrillic, Greek, Asian encodings) keep the detector's choice."""
    matches = charset_normalizer.from_bytes(data)
    encodings = [m.encoding for m in matches]
    best = matches.best()
    if best is None or "cp1252" in encodings or best.encoding in ("ascii", "utf_8"):
        return "cp1252"
    return str(best.encoding)


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode a whole file: ``(text, encoding)``. Never fails: undecodable bytes become U+FFFD."""
    encoding = bom_encoding(data[:4])
    if encoding is not None:
        return repair(data.decode(encoding, errors="replace")), encoding
    try:
        return repair(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    encoding = guess_encoding(data[: 1024 * 1024])
    try:
        return data.decode(encoding), encoding
    except (UnicodeDecodeError, LookupError):
        return data.decode("cp1252", errors="replace"), "cp1252"


def decode_line(raw: bytes, *, fix_mojibake: bool = True) -> str:
    """Decode one line of a line format: UTF-8 (with mojibake repaired when ``fix_mojibake``),
    else Windows-1252 (Latin-1 where 1252 has no character)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return repair(text) if fix_mojibake else text
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def iter_lines(
    stream: IO[bytes], ctx: ReadContext, *, fix_mojibake: bool = True
) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` for each line, without its line ending; 1-based numbers.

    ``fix_mojibake=False`` keeps valid UTF-8 exactly as it is (canonical JSONL, which groomwatch
    writes itself, must read back unchanged).

    A line longer than ``ctx.options.max_record_bytes`` is reported through ``ctx.fail`` (and
    skipped when skipping) rather than read into memory.
    """
    limit = ctx.options.max_record_bytes
    first = stream.readline(limit + 1)
    encoding = bom_encoding(first[:4])
    if encoding in ("utf-16", "utf-32"):
        # Not line-splittable as bytes: let a text wrapper decode the whole stream.
        buffered = io.BufferedReader(_Prepend(first, stream))
        text = io.TextIOWrapper(buffered, encoding=encoding, errors="replace", newline=None)
        for number, line in enumerate(text, 1):
            line = line.rstrip("\n")
            yield number, repair(line) if fix_mojibake else line
        return
    if encoding == "utf-8-sig":
        first = first[3:]
        if len(first) == limit - 2 and not first.endswith(b"\n"):
            # The BOM took 3 of the limit + 1 bytes read: read them again from the line, so
            # that a first line over the limit is reported as such and a line at the limit
            # is whole (not cut, with the reading stopped after it).
            first += stream.readline(3)
    yield from split_lines(stream.readline, ctx, first=first, fix_mojibake=fix_mojibake)


def split_lines(
    read: Callable[[int], bytes],
    ctx: ReadContext,
    *,
    first: bytes | None = None,
    fix_mojibake: bool = True,
    counted: Callable[[int], None] | None = None,
) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of the lines that ``read(n)`` gives (at most ``n`` bytes of the
    current line, like ``readline(n)``; ``b""`` at the end), ``first`` (already read) first; the
    line reading of :func:`iter_lines`. A line longer than ``ctx.options.max_record_bytes`` is
    reported through ``ctx.fail`` and passed over without being held in memory. ``counted(n)``
    is told the number of every line read, good or not."""
    limit = ctx.options.max_record_bytes
    number = 0
    chunk = first
    while True:
        raw = chunk if chunk is not None else read(limit + 1)
        chunk = None
        if not raw:
            return
        number += 1
        if counted is not None:
            counted(number)
        if len(raw) > limit and not raw.endswith(b"\n"):
            ctx.fail(f"line is longer than {limit} bytes", line=number)
            rest = raw
            while rest and not rest.endswith(b"\n"):  # skip the rest of the giant line
                rest = read(1024 * 1024)
            continue
        ended = raw.endswith(b"\n")
        if ended:
            raw = raw[:-1]
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        yield number, decode_line(raw, fix_mojibake=fix_mojibake)
        if not ended:
            return


class _Prepend(io.RawIOBase):
    """A stream with some already-read bytes put back in front."""

    def __init__(self, first: bytes, rest: IO[bytes]) -> None:
        super().__init__()
        self._first = first
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._first:
            n = min(len(buffer), len(self._first))
            buffer[:n] = self._first[:n]
            self._first = self._first[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
