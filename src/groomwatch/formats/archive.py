"""Chat exports inside ZIP archives.

WhatsApp on iOS always exports a ``.zip`` (``_chat.txt`` and any media); Android does with media;
Telegram and Discord exports are often zipped before they are sent on. Every member with a chat
file extension is read as if it were a file of its own; media and other members are counted in
the read report and left alone. Nested archives are not opened, and an archive that unpacks to
more than :data:`MAX_UNPACKED_BYTES` is refused (a ZIP bomb guard that does not trust the sizes
the archive declares).
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import PurePosixPath

from groomwatch.errors import FormatError
from groomwatch.formats.base import ReadReport, Source

ZIP_MAGIC = b"PK\x03\x04"
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024
CHAT_SUFFIXES = frozenset({".txt", ".json", ".jsonl", ".ndjson", ".csv", ".tsv", ".xml", ".log"})
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, ValueError)


def is_zip(head: bytes) -> bool:
    return head.startswith(ZIP_MAGIC)


def members(source: Source, report: ReadReport) -> Iterator[Source]:
    """The chat files in an archive, each as a :class:`Source` named ``ARCHIVE/MEMBER``."""
    try:
        archive = zipfile.ZipFile(source.path or io.BytesIO(source.read_all()))
    except (*_ZIP_ERRORS, NotImplementedError) as exc:
        raise FormatError(f"not a readable ZIP archive: {exc}", path=source.name) from None
    with archive:
        chats = []
        others = 0
        for info in archive.infolist():
            member = PurePosixPath(info.filename)
            if info.is_dir() or member.name.startswith(".") or "__MACOSX" in member.parts:
                continue
            if member.suffix.lower() in CHAT_SUFFIXES:
                chats.append(info)
            else:
                others += 1
        if others:
            report.note(f"{source.name}: {others} media or other file(s) in the archive not read")
        total = 0
        for info in chats:
            remaining = MAX_UNPACKED_BYTES - total
            where = f"{source.name}/{info.filename}"
            try:
                with archive.open(info) as f:
                    data = f.read(remaining + 1)
            except RuntimeError as exc:  # encrypted
                raise FormatError(f"cannot read an encrypted archive: {exc}", path=where) from None
            except (*_ZIP_ERRORS, NotImplementedError) as exc:
                raise FormatError(f"damaged archive member: {exc}", path=where) from None
            if len(data) > remaining:
                raise FormatError(
                    f"the archive unpacks to more than {MAX_UNPACKED_BYTES // 2**20} MiB; "
                    "unpack it and read the files",
                    path=source.name,
                )
            total += len(data)
            # One chat in the archive (WhatsApp's _chat.txt): the archive names the conversation.
            stem = PurePosixPath(source.name).stem if len(chats) == 1 else None
            yield Source(data=data, name=where, stem=stem)
