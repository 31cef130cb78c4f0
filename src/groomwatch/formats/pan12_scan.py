"""The fast path for PAN 2012 XML: regular expressions over decoded chunks.

The official files are regular: ``<conversation id="…">`` holding ``<message line="…">`` elements
with ``<author>``, ``<time>`` and ``<text>`` in that order. Matching that layout with compiled
regular expressions is several times faster than an XML parser building and clearing elements
(measured in ``benchmarks/bench_pan12_read.py``), and memory stays bounded: the file is read in
chunks and only the current conversation is held.

Anything outside that layout (other attributes or element orders, CDATA, comments inside a
conversation, undefined entities, a file not in UTF-8 or with a DOCTYPE) is not guessed at: the
region is handed to lxml, which parses it exactly or reports the XML error with its line. So
both paths give the same conversations on any well-formed file.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from typing import IO

from groomwatch.conversation import Conversation, Message
from groomwatch.errors import FormatError
from groomwatch.formats.base import ReadContext, SkippedRecord
from groomwatch.formats.decoding import repair
from groomwatch.formats.pan12 import Pan12GroundTruth, make_conversation

CHUNK = 4 * 1024 * 1024

_DECL_ENCODING = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([^"']+)["']""")
_HEAD = re.compile(r"\A\ufeff?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*<conversations\s*>", re.S)
_CONV = re.compile(r'<conversation\s+id="([^"<&]*)"\s*>(.*?)</conversation\s*>', re.S)
_MSG = re.compile(
    r'\s*<message\s+line="([^"<&]*)"\s*>\s*<author>([^<]*)</author>\s*<time>([^<]*)</time>'
    r"\s*(?:<text>([^<]*)</text>|<text\s*/>)\s*</message\s*>"
)
_GAP = re.compile(r"(?:\s|<!--(?:[^-]|-(?!-))*-->)*")
_END = re.compile(r"(?:\s|<!--(?:[^-]|-(?!-))*-->)*</conversations\s*>(?:\s|<!--.*?-->)*\Z", re.S)
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot|apos)|#([0-9]{1,7})|#x([0-9a-fA-F]{1,6}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


class _Irregular(Exception):
    """This region is outside the official layout: let lxml parse it."""


def can_scan(head: bytes) -> bool:
    """Whether a file can take the fast path: UTF-8, no DOCTYPE, ``<conversations>`` first."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    declared = _DECL_ENCODING.search(head[:200])
    if declared and declared.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
        return False
    if b"<!DOCTYPE" in head:
        return False
    text = head.decode("utf-8", errors="replace")
    return _HEAD.match(text) is not None


def scan_conversations(
    stream: IO[bytes], ctx: ReadContext, truth: Pan12GroundTruth | None = None
) -> Iterator[Conversation]:
    """Stream the conversations of a PAN 2012 XML file that :func:`can_scan` accepted."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    buf = ""
    buf_line = 1  # the file line of buf[0]
    pos = -1  # not past the <conversations> start tag yet
    final = False
    while not final:
        chunk = stream.read(CHUNK)
        final = not chunk
        try:
            buf += decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            line = buf_line + buf.count("\n") + chunk[: exc.start].count(b"\n")
            raise FormatError("not valid UTF-8", path=ctx.path, line=line) from None
        if pos < 0:
            head = _HEAD.match(buf)
            if head is None:
                if not final and len(buf) < 64 * 1024:
                    continue
                raise FormatError("no <conversations> root element", path=ctx.path, line=1)
            pos = head.end()
        while True:
            m = _CONV.search(buf, pos)
            if m is None:
                break
            if _GAP.fullmatch(buf, pos, m.start()) is None:
                # Something unusual between conversations (an odd attribute, say): lxml reads it.
                yield from _fragment(buf[pos : m.start()], ctx, truth, _line(buf, buf_line, pos))
            yield from _conversation(m, buf, buf_line, ctx, truth)
            pos = m.end()
        # Keep only what is not processed yet.
        buf_line += buf.count("\n", 0, pos)
        buf = buf[pos:]
        pos = 0
    if _END.match(buf) is None:
        end = buf.find("</conversations")
        if end > 0 and _GAP.fullmatch(buf, 0, end) is None:
            yield from _fragment(buf[:end], ctx, truth, buf_line)
            buf = buf[end:]
        if _END.match(buf) is None:
            raise FormatError(
                "not well-formed XML: the file ends before </conversations>",
                path=ctx.path,
                line=buf_line + buf.count("\n"),
            )


def _line(buf: str, buf_line: int, offset: int) -> int:
    return buf_line + buf.count("\n", 0, offset)


def _conversation(
    m: re.Match[str],
    buf: str,
    buf_line: int,
    ctx: ReadContext,
    truth: Pan12GroundTruth | None,
) -> Iterator[Conversation]:
    cid, body = m.group(1), m.group(2)
    try:
        if not cid:
            raise _Irregular
        messages = _messages(body)
    except _Irregular:
        yield from _fragment(m.group(0), ctx, truth, _line(buf, buf_line, m.start()))
        return
    yield make_conversation(cid, messages, truth)


def _messages(body: str) -> list[Message]:
    messages: list[Message] = []
    append = messages.append
    match = _MSG.match
    pos = 0
    end = len(body)
    while True:
        m = match(body, pos)
        if m is None:
            break
        number, author, time, text = m.groups()
        pos = m.end()
        if text is None:
            text = ""
        elif "&" in text or "\r" in text:
            text = _unescape(text)
        if not text.isascii():
            text = repair(text)
        if "&" in author or "\r" in author:
            author = _unescape(author)
        if "&" in time or "\r" in time:
            time = _unescape(time)
        if not number.isdigit():
            raise _Irregular
        append(Message(text, author or None, time or None, int(number)))
    if pos != end and not body[pos:].isspace():
        raise _Irregular
    return messages


def _unescape(value: str) -> str:
    if "\r" in value:  # XML end-of-line handling
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    if "&" not in value:
        return value
    if value.count("&") != len(_ENTITY.findall(value)):
        raise _Irregular  # an undefined entity or a bare '&': lxml reports it
    return _ENTITY.sub(_entity, value)


def _entity(m: re.Match[str]) -> str:
    name, dec, hexa = m.groups()
    if name:
        return _NAMED[name]
    code = int(dec) if dec else int(hexa, 16)
    if code < 0x20 and code not in (0x9, 0xA, 0xD) or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        raise _Irregular
    return chr(code)


def _fragment(
    text: str, ctx: ReadContext, truth: Pan12GroundTruth | None, first_line: int
) -> Iterator[Conversation]:
    """Conversations from a region the fast path does not understand, parsed by lxml."""
    from groomwatch.formats.pan12 import iter_conversations

    wrapped = f"<conversations>{text}</conversations>".encode()
    skipped = ctx.report.skipped
    before = len(skipped)
    try:
        yield from iter_conversations(_Bytes(wrapped), ctx, truth)
    except FormatError as exc:
        line = first_line + (exc.line - 1) if exc.line is not None else first_line
        if ctx.skip_invalid:
            ctx.fail(exc.reason, line=line)
            return
        raise FormatError(exc.reason, path=ctx.path, line=line, field=exc.field) from None
    finally:  # lines of records skipped inside the fragment are relative to it
        for i in range(before, len(skipped)):
            entry = skipped[i]
            if entry.line is not None:
                skipped[i] = SkippedRecord(entry.path, first_line + entry.line - 1, entry.reason)


class _Bytes:
    """A minimal binary stream over bytes for lxml's iterparse."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            n = len(self._data) - self._pos
        out = self._data[self._pos : self._pos + n]
        self._pos += len(out)
        return out
