"""Shared by the readers of JSON chat exports (Discord, Telegram): loading and field checks."""

from __future__ import annotations

import json
from typing import Any

from groomwatch.formats.base import ReadContext, Source
from groomwatch.formats.decoding import decode_bytes


def load_json(source: Source, ctx: ReadContext) -> Any:
    """The parsed JSON document, or a FormatError naming the line and column at fault."""
    text, _ = decode_bytes(source.read_all())
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ctx.error(
            f"not valid JSON: {exc.msg} at column {exc.colno}", line=exc.lineno
        ) from None
    except (ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ctx.error(f"not valid JSON: {reason}") from None


def text_of(value: Any) -> str | None:
    """A string field, or an id given as a number; None for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def head_object_keys(head: str) -> str:
    """The first bytes of a JSON export without whitespace, for sniffing."""
    return "".join(head.lstrip("\ufeff").split())[:4096]
