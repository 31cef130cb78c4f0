"""CSV and TSV files of messages or segments.

The first row names the columns. Column roles (text, label, conversation id, author, time) are
set in :class:`~groomwatch.formats.base.ReadOptions` or found among the usual names. With a
conversation column, rows are grouped into conversations by it (in order of first appearance;
the rows of the file are held in memory). Without one, each row is a conversation of one
message, as in segment-level corpora such as ``vtpan-segments-dev.csv`` (``segment,label``).
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from typing import Any

from groomwatch.conversation import Conversation, Message
from groomwatch.formats.base import ChatFormat, ReadContext, Source
from groomwatch.formats.decoding import iter_lines
from groomwatch.formats.timeparse import normalise_time

#: Usual column names for each role, in order of preference.
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "text": ("text", "message", "content", "body", "segment", "msg", "message_text"),
    "label": ("label", "class", "is_predator", "predator", "target", "y"),
    "conversation": (
        "conversation",
        "conversation_id",
        "conversationid",
        "chat_id",
        "chat",
        "thread_id",
        "thread",
        "dialog_id",
    ),
    "author": ("author", "sender", "from", "user", "user_id", "username", "speaker", "author_id"),
    "time": ("time", "timestamp", "datetime", "date", "sent_at", "created_at"),
}
_LABELS = {
    "1": 1, "0": 0, "1.0": 1, "0.0": 0, "true": 1, "false": 0, "yes": 1, "no": 0,
    "predator": 1, "non-predator": 0, "positive": 1, "negative": 0,
}  # fmt: skip


def sniff(head: str, suffix: str | None) -> bool:
    lines = head.lstrip("\ufeff").splitlines()
    if len(lines) < 2:
        return False
    header = lines[0].lower()
    delimiter = _delimiter(header, suffix)
    names = [n.strip().strip('"') for n in header.split(delimiter)]
    return len(names) > 1 and any(n in COLUMN_NAMES["text"] for n in names)


def _delimiter(header: str, suffix: str | None) -> str:
    if suffix == ".tsv":
        return "\t"
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read(source: Source, ctx: ReadContext) -> Iterator[Conversation]:
    opts = ctx.options
    if csv.field_size_limit() < opts.max_record_bytes:
        csv.field_size_limit(min(opts.max_record_bytes, sys.maxsize))
    suffix = source.name.lower().rsplit(".", 1)[-1] if "." in source.name else ""
    with source.open() as stream:
        numbered = iter_lines(stream, ctx)
        current = [0]

        def lines() -> Iterator[str]:
            for number, line in numbered:
                current[0] = number
                yield line + "\n"

        text_lines = lines()
        first = next(text_lines, None)
        if first is None:
            return
        delimiter = opts.delimiter or _delimiter(first, f".{suffix}")
        try:
            header = next(csv.reader([first], delimiter=delimiter, strict=True))
        except (csv.Error, StopIteration) as exc:
            raise ctx.error(f"the header row is not valid CSV: {exc}", line=1) from None
        columns = _columns(header, ctx)
        width = len(header)
        reader = csv.reader(text_lines, delimiter=delimiter, strict=True)
        grouped: dict[str, list[Any]] = {}  # id -> [messages, label]
        row_number = 0
        while True:
            start = current[0] + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                ctx.fail(f"not valid CSV: {exc}", line=start)
                continue
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            row_number += 1
            if len(row) != width:
                ctx.fail(f"has {len(row)} fields, the header has {width}", line=start)
                continue
            parsed = _row(row, columns, ctx, start)
            if parsed is None:
                continue
            cid, message, label = parsed
            if cid is None:
                yield Conversation(
                    id=f"{source.stem}-{row_number}", messages=(message,), label=label
                )
                continue
            entry = grouped.setdefault(cid, [[], None])
            entry[0].append(message)
            if label is not None:
                entry[1] = max(label, entry[1] or 0)
        for cid, (messages, label) in grouped.items():
            yield Conversation(id=cid, messages=tuple(messages), label=label)


def _columns(header: list[str], ctx: ReadContext) -> dict[str, int]:
    lowered = [h.strip().lower() for h in header]
    opts = ctx.options
    chosen = {
        "text": opts.text_column,
        "label": opts.label_column,
        "conversation": opts.conversation_column,
        "author": opts.author_column,
        "time": opts.time_column,
    }
    columns: dict[str, int] = {}
    for role, name in chosen.items():
        if name is not None:
            if name.strip().lower() not in lowered:
                raise ctx.error(
                    f"no column {name!r} (for the {role}); the columns are {', '.join(header)}",
                    line=1,
                )
            columns[role] = lowered.index(name.strip().lower())
            continue
        for candidate in COLUMN_NAMES[role]:
            if candidate in lowered and lowered.index(candidate) not in columns.values():
                columns[role] = lowered.index(candidate)
                break
    if "text" not in columns:
        raise ctx.error(
            f"no text column among {', '.join(header)}; name it with --text-column", line=1
        )
    return columns


def _row(
    row: list[str], columns: dict[str, int], ctx: ReadContext, line: int
) -> tuple[str | None, Message, int | None] | None:
    label: int | None = None
    if "label" in columns:
        raw = row[columns["label"]].strip().lower()
        if raw:
            if raw not in _LABELS:
                ctx.fail(f"label {raw[:20]!r} is not 0/1", line=line, field="label")
                return None
            label = _LABELS[raw]
    when: str | None = None
    if "time" in columns and row[columns["time"]].strip():
        try:
            when = normalise_time(row[columns["time"]], ctx.options.date_order)
        except ValueError as exc:
            ctx.fail(str(exc), line=line, field="time")
            return None
    author = row[columns["author"]].strip() or None if "author" in columns else None
    cid = row[columns["conversation"]].strip() or None if "conversation" in columns else None
    if "conversation" in columns and cid is None:
        ctx.fail("empty conversation id", line=line, field="conversation")
        return None
    return cid, Message(text=row[columns["text"]], author=author, time=when, line=line), label


FORMAT = ChatFormat(
    name="csv",
    description="CSV/TSV of messages or segments (column names configurable)",
    extensions=(".csv", ".tsv"),
    sniff=sniff,
    read=read,
    exclusive=True,
)
