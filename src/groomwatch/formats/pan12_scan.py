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
import dataclasses
import re
from collections.abc import Callable, Iterator
from typing import IO

from groomwatch.conversation import Conversation, Message
from groomwatch.errors import FormatError
from groomwatch.formats.base import ReadContext, SkippedRecord
from groomwatch.formats.decoding import repair
from groomwatch.formats.pan12 import Pan12GroundTruth, make_conversation

CHUNK = 4 * 1024 * 1024

_DECL_ENCODING = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([^"']+)["']""")
_HEAD = re.compile(r"\A\ufeff?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*<conversations\s*>", re.S)
_CONV_START = re.compile(r'<conversation\s+id="([^"<&]*)"\s*>')
_CONV_END = "</conversation>"
_MSG = re.compile(
    r'<message\s+line="([0-9]+)"\s*>\s*<author>([^<&\r]*)</author>\s*<time>([^<&\r]*)</time>'
    r"\s*(?:<text>([^<]*)</text>|<text\s*/>)\s*</message\s*>"
)
_GAP = re.compile(r"(?:\s|<!--(?:[^-]|-(?!-))*-->)*")
_END = re.compile(r"(?:\s|<!--(?:[^-]|-(?!-))*-->)*</conversations\s*>(?:\s|<!--.*?-->)*\Z", re.S)
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot|apos)|#([0-9]{1,7})|#x([0-9a-fA-F]{1,6}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


def _message_factory() -> Callable[[str, str | None, str | None, int], Message]:
    """A constructor of :class:`Message` for the hot loop.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``; setting the
    slots through their descriptors gives the same object about 40% faster, which is a fifth of
    the whole read. Used only while Message has exactly these four fields (else the class
    itself is used), and the tests compare both paths' results."""
    if [f.name for f in dataclasses.fields(Message)] != ["text", "author", "time", "line"]:
        return Message
    new = object.__new__
    slots = Message.__dict__  # the slot descriptors
    set_text = slots["text"].__set__
    set_author = slots["author"].__set__
    set_time = slots["time"].__set__
    set_line = slots["line"].__set__

    def make(text: str, author: str | None, time: str | None, line: int) -> Message:
        m: Message = new(Message)
        set_text(m, text)
        set_author(m, author)
        set_time(m, time)
        set_line(m, line)
        return m

    return make


_new_message = _message_factory()


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
            begin = buf.find("<conversation", pos)
            if begin < 0:
                break
            close = buf.find(_CONV_END, begin)
            if close < 0:
                break  # the rest of this conversation is in the next chunk
            stop = close + len(_CONV_END)
            if _GAP.fullmatch(buf, pos, begin) is None:
                # Something unusual between conversations: lxml reads it.
                yield from _fragment(buf[pos:begin], ctx, truth, _line(buf, buf_line, pos))
            conv = _conversation(buf, begin, close, truth)
            if conv is None:  # outside the official layout: lxml reads it
                yield from _fragment(buf[begin:stop], ctx, truth, _line(buf, buf_line, begin))
            else:
                yield conv
            pos = stop
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
    buf: str, begin: int, close: int, truth: Pan12GroundTruth | None
) -> Conversation | None:
    """The conversation in ``buf`` from ``begin`` to its end tag at ``close``; None when it is
    outside the official layout."""
    head = _CONV_START.match(buf, begin, close)
    if head is None or not head.group(1):
        return None
    body = buf[head.end() : close]
    if "<conversation" in body:
        return None  # an end tag the fast path did not recognise
    try:
        messages = _messages(body)
    except _Irregular:
        return None
    return make_conversation(head.group(1), messages, truth)


def _messages(body: str) -> list[Message]:
    found = _MSG.findall(body)
    if len(found) != body.count("<message"):
        raise _Irregular
    new = _new_message
    if "&" not in body and "\r" not in body and body.isascii():
        # The common case: one lean list comprehension over what the regex found.
        return [new(t, a or None, h or None, int(n)) for n, a, h, t in found]
    # Authors and times never hold an escape or a CR here (the pattern leaves those to lxml), so
    # only a text with an escape, a CR or non-ASCII characters needs cleaning.
    clean = _clean
    return [
        new(
            t if (t.isascii() and "&" not in t and "\r" not in t) else clean(t),
            a or None,
            h or None,
            int(n),
        )
        for n, a, h, t in found
    ]


def _clean(text: str) -> str:
    text = _unescape(text)
    return text if text.isascii() else repair(text)


def _unescape(value: str) -> str:
    if "\r" in value:  # XML end-of-line handling
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    if "&" not in value:
        return value
    count = value.count
    named = count("&amp;") + count("&lt;") + count("&gt;") + count("&quot;") + count("&apos;")
    if named == count("&"):  # the usual case: only the five predefined entities
        for name in ("lt", "gt", "quot", "apos"):
            value = value.replace(f"&{name};", _NAMED[name])
        return value.replace("&amp;", "&")
    if value.count("&") != len(_ENTITY.findall(value)):
        raise _Irregular  # an undefined entity or a bare '&': lxml reports it
    return _ENTITY.sub(_entity, value)


def _entity(m: re.Match[str]) -> str:
    name, dec, hexa = m.groups()
    if name:
        return _NAMED[name]
    code = int(dec) if dec else int(hexa, 16)
    if (code < 0x20 and code not in (0x9, 0xA, 0xD)) or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
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
