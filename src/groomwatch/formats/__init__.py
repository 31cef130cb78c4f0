"""Readers and writers of chat formats: everything becomes :class:`Conversation` objects.

>>> from groomwatch.formats import read_conversations
>>> for conv in read_conversations("examples/whatsapp-ordinary.txt"):  # doctest: +SKIP
...     print(conv.id, len(conv))

Formats (the explicit registry :data:`FORMATS`, in detection order): ``pan12`` (PAN 2012 XML),
``jsonl`` (canonical), ``discord`` (DiscordChatExporter JSON), ``telegram`` (Telegram Desktop
JSON), ``whatsapp`` ("Export chat" text), ``csv`` (CSV/TSV, configurable columns) and ``text``
(``name: text`` lines). ``auto`` detects by extension and content. See ``docs/formats.md``.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path

from groomwatch.conversation import Conversation
from groomwatch.errors import FormatError
from groomwatch.formats import (
    archive,
    delimited,
    discord,
    jsonl,
    pan12,
    plaintext,
    telegram,
    whatsapp,
)
from groomwatch.formats.base import (
    ChatFormat,
    FormatRegistry,
    ReadContext,
    ReadOptions,
    ReadReport,
    SkippedRecord,
    Source,
)
from groomwatch.formats.decoding import bom_encoding
from groomwatch.formats.jsonl import write_jsonl

__all__ = [
    "FORMATS",
    "WRITERS",
    "ChatFormat",
    "FormatRegistry",
    "ReadOptions",
    "ReadReport",
    "SkippedRecord",
    "detect_format",
    "read_bytes",
    "read_conversations",
    "write_jsonl",
]

#: Every reader, in the order ``auto`` tries them on content (most specific first).
FORMATS = FormatRegistry()
FORMATS.add(pan12.FORMAT)
FORMATS.add(jsonl.FORMAT)
FORMATS.add(discord.FORMAT)
FORMATS.add(telegram.FORMAT)
FORMATS.add(whatsapp.FORMAT)
FORMATS.add(delimited.FORMAT)
FORMATS.add(plaintext.FORMAT)

#: Output extensions and the format written for each (``convert``).
WRITERS: dict[str, str] = {".jsonl": "jsonl", ".ndjson": "jsonl"}

#: Files in a corpus folder that are never conversations (PAN 2012 ground truth and notes).
_NOT_CHATS = ("groundtruth", "predators", "-diff.txt", "readme")


def read_conversations(
    path: str | Path,
    format: str = "auto",
    *,
    skip_invalid: bool = False,
    options: ReadOptions | None = None,
    report: ReadReport | None = None,
    progress: bool = False,
) -> Iterator[Conversation]:
    """Stream the conversations of a file, or of every supported file in a folder.

    Raises :class:`FormatError` (naming file, line and field) on the first bad record, unless
    ``skip_invalid``: then bad records are left out and listed in ``report.skipped``. Files of a
    folder whose format cannot be told are listed in ``report.skipped_files``. ``progress`` shows
    a progress bar on stderr for reads that take more than a moment.
    """
    if format != "auto":
        FORMATS.get(format)  # fail early on an unknown name
    options = options or ReadOptions()
    report = report if report is not None else ReadReport()
    return _read_path(Path(path), format, skip_invalid, options, report, progress)


def _read_path(
    path: Path,
    format: str,
    skip_invalid: bool,
    options: ReadOptions,
    report: ReadReport,
    progress: bool,
) -> Iterator[Conversation]:
    if path.is_dir():
        for file in sorted(p for p in path.iterdir() if p.is_file()):
            if file.name.startswith("."):
                continue
            if any(s in file.name.lower() for s in _NOT_CHATS):
                reason = "ground truth or notes, not a chat"
                report.skipped_files.append(SkippedRecord(str(file), None, reason))
                continue
            source = Source(path=file, progress=progress)
            yield from _read_one(source, format, skip_invalid, options, report, in_folder=True)
        return
    if not path.exists():
        raise FormatError("no such file or folder", path=str(path))
    source = Source(path=path, progress=progress)
    yield from _read_one(source, format, skip_invalid, options, report, in_folder=False)


def _read_one(
    source: Source,
    format: str,
    skip_invalid: bool,
    options: ReadOptions,
    report: ReadReport,
    *,
    in_folder: bool,
    in_archive: bool = False,
) -> Iterator[Conversation]:
    """One file (or archive). In a folder or an archive, a file that is not a chat is listed in
    ``report.skipped_files``; given alone, it is an error."""
    head = source.head()
    if archive.is_zip(head) and not in_archive:
        report.files[source.name] = "zip"
        for member in archive.members(source, report):
            yield from _read_one(
                member, format, skip_invalid, options, report, in_folder=True, in_archive=True
            )
        return
    name = format
    if format == "auto":
        detected = _detect(source, head)
        if detected is None:
            if _blank(head):
                if in_folder:
                    report.skipped_files.append(SkippedRecord(source.name, None, "empty"))
                else:
                    report.files[source.name] = "empty"
                return
            if in_folder:
                reason = "not a supported chat format"
                report.skipped_files.append(SkippedRecord(source.name, None, reason))
                return
            raise _undetectable(source.name)
        name = detected
    elif in_folder and Path(source.name).suffix.lower() not in FORMATS.get(format).extensions:
        return
    yield from _read_source(source, name, skip_invalid, options, report)


def _read_source(
    source: Source, name: str, skip_invalid: bool, options: ReadOptions, report: ReadReport
) -> Iterator[Conversation]:
    report.files[source.name] = name
    ctx = ReadContext(source.name, options, report, skip_invalid)
    yield from FORMATS.get(name).read(source, ctx)


def read_bytes(
    data: bytes,
    *,
    filename: str | None = None,
    format: str = "auto",
    skip_invalid: bool = False,
    options: ReadOptions | None = None,
    report: ReadReport | None = None,
) -> list[Conversation]:
    """Read an upload held in memory (the hotline form, the parent check). ``filename`` helps
    detection by its extension and names the input in error messages."""
    source = Source(data=data, name=filename or "<upload>")
    if format != "auto":
        FORMATS.get(format)
    options = options or ReadOptions()
    report = report if report is not None else ReadReport()
    return list(_read_one(source, format, skip_invalid, options, report, in_folder=False))


def detect_format(path: str | Path) -> str:
    """The name of the format of a file (or ``pan12`` for a folder holding a PAN 2012 XML).
    Raises :class:`FormatError` when it cannot be told."""
    path = Path(path)
    if path.is_dir():
        for xml in sorted(path.glob("*.xml")):
            if pan12.sniff(_head_text(Source(path=xml).head(4096)), ".xml"):
                return "pan12"
        raise FormatError(
            "a folder is read file by file; give a file to detect its format", path=str(path)
        )
    if not path.exists():
        raise FormatError("no such file or folder", path=str(path))
    name = _detect(Source(path=path))
    if name is None:
        raise _undetectable(str(path))
    return name


def _detect(source: Source, head: bytes | None = None) -> str | None:
    if head is None:
        head = source.head()
    if _blank(head):
        return None
    text = _head_text(head)
    suffix = Path(source.name).suffix.lower() or None
    tried: set[str] = set()
    claimed = [f for f in FORMATS if suffix is not None and suffix in f.extensions]
    for fmt in claimed:
        tried.add(fmt.name)
        if fmt.sniff(text, suffix):
            return fmt.name
    for fmt in claimed:
        if fmt.exclusive:
            return fmt.name
    for fmt in FORMATS:
        if fmt.name not in tried and fmt.sniff(text, suffix):
            return fmt.name
    return None


def _head_text(head: bytes) -> str:
    encoding = bom_encoding(head[:4]) or "utf-8"
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return decoder.decode(head, final=False)


def _blank(head: bytes) -> bool:
    encoding = bom_encoding(head[:4])
    if encoding is not None:
        head = head.decode(encoding, errors="replace").encode("utf-8", errors="replace")
    return not head.strip().lstrip(b"\xef\xbb\xbf").strip()


def _undetectable(name: str) -> FormatError:
    return FormatError(
        f"cannot tell the format from the name or content; give --format "
        f"(one of {', '.join(FORMATS.names())})",
        path=name,
    )
