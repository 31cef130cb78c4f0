"""The fast path for PAN 2012 XML: regular expressions over decoded text.

The official files are regular: ``<conversation id="…">`` holding ``<message line="…">`` elements
with ``<author>``, ``<time>`` and ``<text>`` in that order, indented the same way throughout.
The file is read in chunks; the whole conversations of each few dozen kilobytes are split by one
message pattern (built from the file's own indentation when it fits, see :class:`_Layout`), the
rest of the region is checked to hold only conversation tags, white space and comments, and the
Message and Conversation objects are built column by column in C. That is several times faster
than an XML parser building and clearing elements (``benchmarks/bench_pan12_read.py``), and
memory stays bounded: only the current chunk and its conversations are held.

Anything outside that layout (other attributes or element orders, CDATA, comments inside a
conversation, undefined entities, escapes in authors or times, a file not in UTF-8 or with a
DOCTYPE) is not guessed at: the region is read again conversation by conversation, and each
conversation outside the layout is handed to lxml, which parses it exactly or reports the XML
error with its line. So both paths give the same conversations on any well-formed file.
"""

from __future__ import annotations

import codecs
import dataclasses
import re
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from itertools import compress, repeat
from operator import not_
from typing import IO, Any, TypeVar

from groomwatch.conversation import Conversation, Message
from groomwatch.errors import FormatError
from groomwatch.formats.base import ReadContext, SkippedRecord
from groomwatch.formats.decoding import repair
from groomwatch.formats.pan12 import Pan12GroundTruth, labels

_T = TypeVar("_T")

# Bytes read and decoded at a time, and characters of whole conversations matched at a time.
# Small enough for the text, its strings and its objects to stay in the processor's caches:
# with 4 MB chunks, cachegrind counts about 7 last-level cache misses a message, and none with
# these sizes; on this project's 2-core machine that was a quarter of the read time.
CHUNK = 256 * 1024
REGION = 32 * 1024

# XML white space is these four characters only (``\s`` would also take U+00A0, U+2028 or the
# control characters U+001C-U+001F, which lxml treats differently).
_WS = "[ \t\n\r]"
_COMMENT = "<!--(?:[^-]|-(?!-))*-->"

_DECL_ENCODING = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([^"']+)["']""")
_HEAD = re.compile(r"\A\ufeff?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*<conversations\s*>", re.S)
# An attribute value holding a tab or a line break is normalised by XML (to spaces): lxml's job.
_CONV_START = re.compile(rf'<conversation{_WS}+id="([^"<&\t\n\r]*)"{_WS}*>')
_CONV_END = "</conversation>"
# One message in the official layout, with the white space after it. Possessive quantifiers: no
# part can give characters back to the next one, so a failed match fails without backtracking.
# Authors and times are taken up to the next '<' (a plain "not this character" loop is the
# cheapest for the regex engine); the few with an escape or a CR are then left to lxml.
_MSG = re.compile(
    rf'<message{_WS}++line="([0-9]++)"{_WS}*+>{_WS}*+<author>([^<]*+)</author>{_WS}*+'
    rf"<time>([^<]*+)</time>{_WS}*+(?:<text>([^<]*+)</text>|<text{_WS}*+/>)"
    rf"{_WS}*+</message{_WS}*+>{_WS}*+"
)
# What may stand between two messages of a region besides white space: the end of one
# conversation, comments and white space, and the start of the next. The first region may
# start with comments and white space before its first conversation.
_NEXT = re.compile(rf"{_WS}*+</conversation>(?:{_WS}|{_COMMENT})*+{_CONV_START.pattern}{_WS}*+")
_FIRST = re.compile(rf"(?:{_WS}|{_COMMENT})*+{_CONV_START.pattern}{_WS}*+")
_LAST = re.compile(rf"{_WS}*+</conversation>")
# The white space of a file's messages, learnt from one of them (see _Layout).
_LEARN = re.compile(
    rf'<message line="[0-9]+">({_WS}*)<author>[^<]*</author>({_WS}*)<time>[^<]*</time>'
    rf"({_WS}*)(?:<text>[^<]*</text>|<text */>)({_WS}*)</message>({_WS}*)<message{_WS}"
)
_LEARN_END = re.compile(rf"</message>({_WS}*)</conversation>")
_GAP = re.compile(rf"(?:{_WS}|{_COMMENT})*")
_END = re.compile(rf"(?:{_WS}|{_COMMENT})*</conversations{_WS}*>(?:{_WS}|<!--.*?-->)*\Z", re.S)
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot|apos)|#([0-9]{1,7})|#x([0-9a-fA-F]{1,6}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}

_MESSAGE_FIELDS = ("text", "author", "time", "line")
_CONVERSATION_FIELDS = ("id", "messages", "participants", "platform", "label", "meta")
# Runs an iterator to its end in C, keeping nothing.
_drain: Callable[[Iterable[Any]], None] = deque(maxlen=0).extend


def _field_setters(cls: type, names: tuple[str, ...]) -> list[Callable[[Any, Any], None]] | None:
    """The slot descriptors' ``__set__`` of a frozen slotted dataclass, in field order; None
    unless its fields are exactly ``names`` (then the readers use the class itself).

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``; setting
    the slots through their descriptors gives the same object, and mapping a descriptor over a
    column of new objects does it in C, without a Python call per field. Equality, hashing and
    immutability are the class's own (the tests compare these objects with ordinary ones)."""
    fields = dataclasses.fields(cls)
    if tuple(f.name for f in fields) != names or hasattr(cls, "__post_init__"):
        return None
    slots = cls.__dict__
    if any(not hasattr(slots.get(name), "__set__") for name in names):
        return None
    return [slots[name].__set__ for name in names]


def _column_factory(
    cls: type[_T], names: tuple[str, ...]
) -> Callable[[int, Sequence[Iterable[Any]]], list[_T]]:
    """A builder of ``count`` instances of ``cls`` from one iterable per field (in ``names``
    order; the first must have ``count`` items): one C-level pass per field instead of a
    Python call per object."""
    setters = _field_setters(cls, names)
    new = object.__new__

    def build(count: int, columns: Sequence[Iterable[Any]]) -> list[_T]:
        if setters is None:
            return list(map(cls, *columns))
        objects: list[_T] = list(map(new, repeat(cls, count)))
        for setter, column in zip(setters, columns, strict=True):
            _drain(map(setter, objects, column))
        return objects

    return build


_messages_of = _column_factory(Message, _MESSAGE_FIELDS)
_conversations_of = _column_factory(Conversation, _CONVERSATION_FIELDS)


class _Lines(dict[str, int]):
    """``line`` attribute → int, for the numbers conversations have (a dictionary look-up is
    about three times cheaper than ``int``); others are converted as they come."""

    def __missing__(self, key: str) -> int:
        return int(key)


_LINES = _Lines((str(n), n) for n in range(10_000))


class _Layout:
    """The white space between the tags of a file's messages, as in its first message, made
    into a message pattern of literals.

    Files are written by a program, so every message has the same indentation. Literal white
    space is cheaper for the regex engine than a repeated character class, and it tells how
    many line breaks each message holds without counting them: ``per_message`` inside each,
    plus ``between`` after each but the last of a conversation (its pattern ends with the
    white space before the next ``<message``, or looks ahead to the conversation's end tag
    without taking it). A region this pattern does not fit is read with :data:`_MSG`."""

    __slots__ = ("between", "pattern", "per_message")

    def __init__(self, inside: tuple[str, str, str, str], between: str, last: str) -> None:
        w1, w2, w3, w4, w5, w6 = map(re.escape, (*inside, between, last))
        self.pattern = re.compile(
            rf'<message line="([0-9]++)">{w1}<author>([^<]*+)</author>{w2}'
            rf"<time>([^<]*+)</time>{w3}(?:<text>([^<]*+)</text>|<text */>){w4}"
            rf"</message>(?:{w5}(?=<message{_WS})|(?={w6}</conversation>))"
        )
        self.per_message = "".join(inside).count("\n")
        self.between = between.count("\n")

    @classmethod
    def learn(cls, region: str) -> _Layout | None:
        """The layout of the first message of ``region`` that is followed by another."""
        inside = _LEARN.search(region)
        last = _LEARN_END.search(region)
        if inside is None or last is None:
            return None
        w1, w2, w3, w4, w5 = inside.groups()
        return cls((w1, w2, w3, w4), w5, last.group(1))


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
    # Line numbers are for error messages only, so line breaks are counted lazily: `line` is
    # the file line of buf[counted], and the file's layout usually tells how many line breaks
    # a region holds (see _Layout), which saves counting them, a twentieth of the time.
    line = 1
    counted = 0
    layout: _Layout | None = None
    pos = -1  # not past the <conversations> start tag yet
    final = False
    while not final:
        chunk = stream.read(CHUNK)
        final = not chunk
        try:
            buf += decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            at = line + buf.count("\n", counted) + chunk[: exc.start].count(b"\n")
            raise FormatError("not valid UTF-8", path=ctx.path, line=at) from None
        if pos < 0:
            head = _HEAD.match(buf)
            if head is None:
                if not final and len(buf) < 64 * 1024:
                    continue
                raise FormatError("no <conversations> root element", path=ctx.path, line=1)
            pos = head.end()
        while True:
            # The whole conversations of the next REGION characters (see CHUNK).
            end = buf.rfind(_CONV_END, pos, pos + REGION)
            if end < 0:
                end = buf.find(_CONV_END, pos)  # a conversation longer than REGION
                if end < 0:
                    break  # the rest of this conversation is in the next chunk
            stop = end + len(_CONV_END)
            region = buf[pos:stop]
            if layout is None:
                layout = _Layout.learn(region)
            found = _region(region, truth, layout)
            del region
            if found is None:  # something outside the official layout: one at a time
                pos = yield from _one_by_one(buf, pos, stop, (counted, line), ctx, truth)
                if pos < stop:
                    break  # an end tag the fast path did not recognise: wait for more
                continue
            convs, breaks = found
            if breaks is not None:
                line += buf.count("\n", counted, pos) + breaks
                counted = stop
            else:  # the layout learnt did not fit: learn it again from the next region
                layout = None
            pos = stop
            yield from convs
            del convs, found
        # Keep only what is not processed yet.
        line += buf.count("\n", counted, pos)
        buf = buf[pos:]
        pos = counted = 0
    if _END.match(buf) is None:
        end = buf.find("</conversations")
        if end > 0 and _GAP.fullmatch(buf, 0, end) is None:
            yield from _fragment(buf[:end], ctx, truth, line)
            line += buf.count("\n", 0, end)
            buf = buf[end:]
        if _END.match(buf) is None:
            raise FormatError(
                "not well-formed XML: the file ends before </conversations>",
                path=ctx.path,
                line=line + buf.count("\n"),
            )


def _region(
    region: str, truth: Pan12GroundTruth | None, layout: _Layout | None
) -> tuple[list[Conversation], int | None] | None:
    """The conversations of ``region`` (whole conversations, and what may stand between them)
    and the number of line breaks in it when the file's layout tells it (else None); None when
    anything in the region is outside the official layout."""
    if layout is not None:
        found = _split_region(layout.pattern.split(region), truth, layout)
        if found is not None:
            return found
    return _split_region(_MSG.split(region), truth, None)


def _split_region(
    parts: list[str], truth: Pan12GroundTruth | None, layout: _Layout | None
) -> tuple[list[Conversation], int | None] | None:
    """:func:`_region` given the region split by a message pattern.

    ``split`` gives ``[gap, line, author, time, text, gap, …]``. Every character of the region
    is either in a message or in a gap, and a message's pattern takes the white space after it,
    so the gaps are empty except where a conversation ends and the next starts. Checking those
    gaps (a handful of patterns per conversation) checks the whole region, and every Message is
    built column by column in C."""
    n = len(parts) // 5
    if n == 0:
        return None
    gaps = parts[0::5]
    starts = list(compress(range(n + 1), gaps))  # where each conversation starts, then n
    if starts[0] != 0 or starts[-1] != n or _LAST.fullmatch(gaps[n]) is None:
        return None
    head = _FIRST.fullmatch(gaps[0])
    if head is None:
        return None
    ids = [head.group(1)]
    following = _NEXT.fullmatch
    for i in starts[1:-1]:
        head = following(gaps[i])
        if head is None:
            return None
        ids.append(head.group(1))
    if "" in ids:
        return None  # lxml reports a conversation without an id

    author_column = parts[2::5]
    time_column = parts[3::5]
    joined_authors = "<".join(author_column)  # '<' cannot be in them
    joined_times = "<".join(time_column)
    fields = joined_authors + joined_times
    if "&" in fields or "\r" in fields:
        return None  # an escape or a CR in an author or a time: rare, and left to lxml
    texts = parts[4::5]
    try:
        joined = "<".join(texts)  # '<' cannot be in a text the pattern took
    except TypeError:  # None for <text/>: an empty text
        texts = [t or "" for t in texts]
        joined = "<".join(texts)
    if "&" in joined or "\r" in joined or not joined.isascii():
        try:
            _clean_texts(texts, joined)
        except _Irregular:
            return None
    breaks = None
    if layout is not None:  # the count of line breaks, without reading the region again
        count = len(starts) - 1
        breaks = n * layout.per_message + (n - count) * layout.between
        breaks += sum(gaps[i].count("\n") for i in starts)
        if "\n" in joined or "\n" in fields:
            breaks += joined.count("\n") + fields.count("\n")
    # An empty author or time is None, as lxml gives it.
    authors: Sequence[str | None] = author_column
    if _has_empty(joined_authors):
        authors = [a or None for a in author_column]
    times: Sequence[str | None] = time_column
    if _has_empty(joined_times):
        times = [t or None for t in time_column]
    messages = _messages_of(n, (texts, authors, times, map(_LINES.__getitem__, parts[1::5])))
    del parts, gaps

    count = len(ids)
    tuples = map(tuple, map(messages.__getitem__, map(slice, starts, starts[1:])))
    label: Iterable[int | None]
    meta: list[dict[str, Any]]
    if truth is None:
        label, meta = repeat(None), [{} for _ in range(count)]
    else:
        label, meta = _labels(ids, starts, authors, truth)
    columns = (ids, tuples, repeat(()), repeat(None), label, meta)
    return _conversations_of(count, columns), breaks


def _has_empty(joined: str) -> bool:
    """Whether one of the strings joined by '<' (none holding one) is empty: a search in C,
    cheaper than comparing each with ''."""
    return not joined or joined[0] == "<" or joined[-1] == "<" or "<<" in joined


def _labels(
    ids: list[str], starts: list[int], authors: Sequence[str | None], truth: Pan12GroundTruth
) -> tuple[list[int], list[dict[str, Any]]]:
    """Labels and meta of a region's conversations, as :func:`labels` gives them: most have
    neither a predator nor marked lines, and only the others need looking at one by one."""
    label = [0] * len(ids)
    meta: list[dict[str, Any]] = [{"predators": []} for _ in ids]
    special = set(compress(range(len(ids)), map(truth.predator_lines.__contains__, ids)))
    predators = truth.predators
    if not predators.isdisjoint(authors):
        for i in compress(range(len(authors)), map(predators.__contains__, authors)):
            special.add(bisect_right(starts, i) - 1)
    for j in special:
        label[j], meta[j] = labels(ids[j], authors[starts[j] : starts[j + 1]], truth)
    return label, meta


def _clean_texts(texts: list[str], joined: str) -> None:
    """Unescape and repair, in place, the texts that need it: those with an escape or a CR
    (found with ``find`` in ``joined``, the texts joined by '<') and those not in ASCII."""
    todo: set[int] = set()
    for char in ("&", "\r"):
        index = 0
        counted = 0  # joined[:counted] holds `index` separators
        at = joined.find(char)
        while at >= 0:
            index += joined.count("<", counted, at)
            todo.add(index)
            counted = joined.find("<", at)
            if counted < 0:
                break
            at = joined.find(char, counted)
    if not joined.isascii():
        todo.update(compress(range(len(texts)), map(not_, map(str.isascii, texts))))
    for i in todo:
        texts[i] = _clean(texts[i])


def _one_by_one(
    buf: str,
    pos: int,
    limit: int,
    known: tuple[int, int],
    ctx: ReadContext,
    truth: Pan12GroundTruth | None,
) -> Generator[Conversation, None, int]:
    """The conversations of ``buf[pos:limit]`` one by one, each outside the official layout
    handed to lxml with its file line (``known``: an offset in ``buf`` and its line); returns
    where the last whole conversation ends."""
    while True:
        begin = buf.find("<conversation", pos, limit)
        if begin < 0:
            return pos
        close = buf.find(_CONV_END, begin, limit)
        if close < 0:
            return pos
        stop = close + len(_CONV_END)
        if _GAP.fullmatch(buf, pos, begin) is None:
            # Something unusual between conversations: lxml reads it.
            yield from _fragment(buf[pos:begin], ctx, truth, _line(buf, known, pos))
        found = _region(buf[begin:stop], truth, None)
        if found is None:  # outside the official layout: lxml reads it
            yield from _fragment(buf[begin:stop], ctx, truth, _line(buf, known, begin))
        else:
            yield from found[0]
        pos = stop


def _line(buf: str, known: tuple[int, int], offset: int) -> int:
    """The file line of ``buf[offset]``, given that of ``buf[known[0]]``."""
    at, line = known
    return line + buf.count("\n", at, offset)


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
