"""WhatsApp "Export chat" text files (without media), Android and iOS layouts.

Android: ``02/03/2024, 16:03 - Alex: text`` (also ``3/2/24, 4:03 PM - …``, ``02.03.24, 16:03 - …``);
iOS: ``[02/03/2024, 16:03:12] Alex: text``, often with a left-to-right mark in front. A line that
does not start with a date continues the message above it (multi-line messages). System lines
("Messages and calls are end-to-end encrypted…", "Alex created group…", security-code changes)
are not messages: they are counted in the read report and dropped. Media placeholders
(``<Media omitted>``, ``image omitted``, ``<attached: …>``) and "This message was deleted" are
kept as the author's messages: they say that something was sent.

The date order (day/month/year, month/day/year, year/month/day) is inferred from the whole file;
when no date settles it (every field <= 12) day first is assumed and the report says so, unless
``ReadOptions.date_order`` is set.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from groomwatch.conversation import Conversation, Message, Participant
from groomwatch.formats.base import ChatFormat, DateOrder, ReadContext, Source
from groomwatch.formats.decoding import decode_bytes
from groomwatch.formats.timeparse import DATE, TIME, infer_date_order, to_iso

_MARKS = "\u200e\u200f\u202a\u202b\u202c\ufeff"

HEADER = re.compile(
    rf"^[{_MARKS}]*(?P<ios>\[)?(?P<date>{DATE}),?[\s\u202f\u00a0]+(?P<time>{TIME})"
    r"(?(ios)\]\s?|\s?[-\u2013]\s)(?P<rest>.*)$"
)
_AUTHOR = re.compile(r"^(?P<author>[^:\n]{1,100}?): (?P<text>.*)$", re.DOTALL)
_SYSTEM_TEXT = re.compile(
    r"^(Messages and calls are end-to-end encrypted"
    r"|Messages to this (group|chat) are now secured"
    r"|Your security code with .* changed"
    r"|.*security code changed"
    r"|Disappearing messages"
    r"|.*turned (on|off) disappearing messages"
    r"|This chat is with a business account"
    r"|You (blocked|unblocked) this contact"
    r"|.* created (group|this group)"
    r"|.* changed (the subject|this group's icon|the group description|their phone number"
    r"|the group settings)"
    r"|.* joined using this group's invite link"
    r"|.* (added|removed) .*"
    r"|.* left$)",
)
_SYSTEM_SUBJECT = re.compile(r" changed (the subject|the group description) ")


def sniff(head: str, suffix: str | None) -> bool:
    lines = [line for line in head.splitlines()[:20] if line.strip()]
    if not lines:
        return False
    return HEADER.match(lines[0]) is not None and sum(
        1 for line in lines if HEADER.match(line)
    ) >= min(2, len(lines))


def read(source: Source, ctx: ReadContext) -> Iterator[Conversation]:
    text, encoding = decode_bytes(source.read_all())
    if encoding not in ("utf-8", "utf-8-sig"):
        ctx.report.note(f"{ctx.path}: decoded as {encoding}")
    conv = parse(text, ctx, cid=source.stem)
    if conv is not None:
        yield conv


def parse(text: str, ctx: ReadContext, *, cid: str) -> Conversation | None:
    """One export (one conversation) from its decoded text; None when it holds no message."""
    # First pass: headers and continuation lines, so the date order can be inferred.
    entries: list[tuple[int, str, str, str | None]] = []  # (line, date, time, rest) or continuation
    for number, line in enumerate(text.splitlines(), 1):
        m = HEADER.match(line)
        if m is not None:
            entries.append((number, m.group("date"), m.group("time"), m.group("rest")))
        elif entries:
            entries.append((number, "", "", line or None))
        elif line.strip(_MARKS + " \t"):
            ctx.fail("not a WhatsApp export line (no date and time at its start)", line=number)
    if not entries:
        return None
    order = _date_order(entries, ctx)

    messages: list[tuple[str, str, str, int]] = []  # author, text, time, line
    in_system = False
    for number, date, time, rest in entries:
        if not date:  # a continuation line (rest is its text; None for an empty line)
            if in_system:
                continue
            if messages:
                author, body, when, first = messages[-1]
                messages[-1] = (author, f"{body}\n{rest or ''}", when, first)
            continue
        assert rest is not None
        try:
            when = to_iso(date, time, order)
        except ValueError as exc:
            ctx.fail(f"bad date or time: {exc}", line=number)
            in_system = True
            continue
        body = rest.lstrip(_MARKS)
        m = _AUTHOR.match(body)
        if m is None or _SYSTEM_SUBJECT.search(m.group("author")):
            ctx.report.system_lines += 1
            in_system = True
            continue
        author = m.group("author").strip(_MARKS + " ")
        said = m.group("text").lstrip(_MARKS)
        if said.startswith(("Messages and calls are end-to-end", "Messages to this")) or (
            said.startswith(tuple(_MARKS)) and _SYSTEM_TEXT.match(said.lstrip(_MARKS))
        ):
            ctx.report.system_lines += 1
            in_system = True
            continue
        in_system = False
        messages.append((author, said, when, number))
    if not messages:
        return None
    authors = list(dict.fromkeys(a for a, _, _, _ in messages))
    return Conversation(
        id=cid,
        messages=tuple(Message(text=t.rstrip("\n"), author=a, time=w) for a, t, w, _ in messages),
        participants=tuple(Participant(id=a) for a in authors),
        platform="whatsapp",
        meta={"date_order": order},
    )


def _date_order(entries: list[tuple[int, str, str, str | None]], ctx: ReadContext) -> DateOrder:
    if ctx.options.date_order is not None:
        return ctx.options.date_order
    try:
        order, _certain = infer_date_order(e[1] for e in entries if e[1])
    except ValueError as exc:
        raise ctx.error(f"{exc}; set the date order (--date-order)") from None
    if order is None:
        ctx.report.note(
            f"{ctx.path}: no date shows whether day or month comes first; assumed day first "
            "(set --date-order mdy for month first)"
        )
        return "dmy"
    return order


FORMAT = ChatFormat(
    name="whatsapp",
    description='WhatsApp "Export chat" text (Android and iOS)',
    extensions=(".txt",),
    sniff=sniff,
    read=read,
)
