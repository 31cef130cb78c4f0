"""Plain chat transcripts: ``name: text`` a line, optionally with a time in brackets in front
(``[16:03] Alex: hi`` or ``[2024-03-02 16:03] Alex: hi``).

Lines that do not start with a name continue the message above. A file with no ``name:`` line at
all is read as one message per non-empty line, without authors. One file is one conversation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from groomwatch.conversation import Conversation, Message, Participant
from groomwatch.formats.base import ChatFormat, ReadContext, Source
from groomwatch.formats.decoding import decode_bytes
from groomwatch.formats.timeparse import normalise_time

LINE = re.compile(
    r"^(?:\[(?P<time>[^\]\n]{1,40})\]\s*)?(?P<author>[^\s:\[\]<>][^:\n]{0,39}?):[ \t]+(?P<text>.*)$"
)


def sniff(head: str, suffix: str | None) -> bool:
    lines = [line for line in head.splitlines()[:21] if line.strip()][:20]
    if len(lines) < 2:
        return len(lines) == 1 and LINE.match(lines[0]) is not None and suffix == ".txt"
    return sum(1 for line in lines if LINE.match(line)) >= 0.6 * len(lines)


def read(source: Source, ctx: ReadContext) -> Iterator[Conversation]:
    text, encoding = decode_bytes(source.read_all())
    if encoding not in ("utf-8", "utf-8-sig"):
        ctx.report.note(f"{ctx.path}: decoded as {encoding}")
    conv = parse(text, ctx, cid=source.stem)
    if conv is not None:
        yield conv


def parse(text: str, ctx: ReadContext, *, cid: str) -> Conversation | None:
    lines = text.splitlines()
    named = any(LINE.match(line) for line in lines)
    messages: list[list[str | None]] = []  # [author, text, time]
    for number, line in enumerate(lines, 1):
        m = LINE.match(line) if named else None
        if m is None:
            if not line.strip():
                if named and messages:
                    messages[-1][1] = f"{messages[-1][1]}\n"
                continue
            if named and messages:
                messages[-1][1] = f"{messages[-1][1]}\n{line}"
            else:
                messages.append([None, line.strip(), None])
            continue
        when = m.group("time")
        if when is not None:
            try:
                when = normalise_time(when, ctx.options.date_order)
            except ValueError as exc:
                ctx.fail(str(exc), line=number, field="time")
                continue
        messages.append([m.group("author").strip(), m.group("text"), when])
    if not messages:
        return None
    authors = list(dict.fromkeys(a for a, _, _ in messages if a))
    return Conversation(
        id=cid,
        messages=tuple(
            Message(text=(t or "").strip("\n"), author=a, time=w) for a, t, w in messages
        ),
        participants=tuple(Participant(id=a) for a in authors),
        platform=None,
    )


FORMAT = ChatFormat(
    name="text",
    description="plain 'name: text' lines",
    extensions=(".txt", ".log"),
    sniff=sniff,
    read=read,
)
