"""Canonical conversation JSONL (DESIGN.md): one conversation a line. Reader and writer."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TextIO

from groomwatch.conversation import Conversation
from groomwatch.errors import RecordError
from groomwatch.formats.base import ChatFormat, ReadContext, Source
from groomwatch.formats.decoding import iter_lines


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
        for number, line in iter_lines(stream, ctx, fix_mojibake=False):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except (ValueError, RecursionError) as exc:
                ctx.fail(f"not valid JSON: {_json_reason(exc)}", line=number)
                continue
            try:
                yield Conversation.from_dict(data, source=f"{ctx.path}:{number}")
            except RecordError as exc:
                ctx.fail(exc.reason, line=number, field=exc.field)


def _json_reason(exc: BaseException) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)


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
