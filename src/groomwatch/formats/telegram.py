"""Telegram Desktop exports ("Export chat history" or "Export Telegram data", JSON): one chat's
``result.json`` or a whole-account export (``chats.list``, ``left_chats.list``).

Kept: each message of type ``message`` with its author (``from_id``, display name ``from``), its
text (formatted pieces joined), its time (``date_unixtime`` as UTC, else the local ``date``), and
media as ``[photo]``/``[sticker 😀]``/``[voice_message]``-style lines. Dropped: service messages
(calls, joins, pins; counted in the report), reactions, reply links, edits.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from groomwatch.conversation import Conversation, Message, Participant
from groomwatch.formats.base import ChatFormat, ReadContext, Source
from groomwatch.formats.jsonexport import head_object_keys, load_json, text_of


def sniff(head: str, suffix: str | None) -> bool:
    flat = head_object_keys(head)
    if not flat.startswith("{"):
        return False
    single = '"type":"' in flat and '"messages":[' in flat and '"date":' in flat
    account = '"chats":{' in flat or '"personal_information":{' in flat
    return single or account


def read(source: Source, ctx: ReadContext) -> Iterator[Conversation]:
    data = load_json(source, ctx)
    if data is None:
        return
    if not isinstance(data, dict):
        raise ctx.error("not a Telegram export: the top level is not an object")
    chats: list[tuple[str, Any]] = []
    if isinstance(data.get("messages"), list):
        chats.append(("", data))
    for section in ("chats", "left_chats"):
        block = data.get(section)
        if isinstance(block, dict) and isinstance(block.get("list"), list):
            chats += [(f"{section}.list[{i}].", c) for i, c in enumerate(block["list"])]
    if not chats and "messages" not in data and "chats" not in data:
        raise ctx.error("not a Telegram export: no 'messages' or 'chats' at the top")
    for prefix, chat in chats:
        conv = _chat(chat, prefix, source, ctx)
        if conv is not None:
            yield conv


def _chat(chat: Any, prefix: str, source: Source, ctx: ReadContext) -> Conversation | None:
    if not isinstance(chat, dict) or not isinstance(chat.get("messages"), list):
        ctx.fail("must be a chat object with a 'messages' list", field=prefix.rstrip(".") or None)
        return None
    messages: list[Message] = []
    names: dict[str, str | None] = {}
    for i, raw in enumerate(chat["messages"]):
        where = f"{prefix}messages[{i}]"
        if not isinstance(raw, dict):
            ctx.fail("must be an object", field=where)
            continue
        if raw.get("type", "message") != "message":
            ctx.report.system_lines += 1
            continue
        name = text_of(raw.get("from"))
        author = text_of(raw.get("from_id")) or name
        text = _text(raw.get("text", ""))
        if text is None:
            ctx.fail("must be a string or a list of text pieces", field=f"{where}.text")
            continue
        try:
            when = _time(raw)
        except ValueError:
            ctx.fail("must be a Unix time or an ISO 8601 date", field=f"{where}.date")
            continue
        parts = [text] if text else []
        media = _media(raw)
        if media:
            parts.append(media)
        messages.append(Message(text="\n".join(parts), author=author, time=when or None))
        if author and author not in names:
            names[author] = name if name != author else None
    if not messages:
        return None
    cid = text_of(chat.get("id")) or text_of(chat.get("name")) or source.stem
    meta = {k: v for k in ("name", "type") if (v := text_of(chat.get(k)))}
    return Conversation(
        id=cid,
        messages=tuple(messages),
        participants=tuple(Participant(id=a, name=n) for a, n in names.items()),
        platform="telegram",
        meta=meta,
    )


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        out = []
        for piece in value:
            if isinstance(piece, str):
                out.append(piece)
            elif isinstance(piece, dict) and isinstance(piece.get("text"), str):
                out.append(piece["text"])
            else:
                return None
        return "".join(out)
    return None


def _time(raw: dict[str, Any]) -> str | None:
    """``date_unixtime`` as UTC, else the local ``date``; ValueError when neither is valid."""
    unix = raw.get("date_unixtime")
    if unix is not None:
        try:
            return datetime.fromtimestamp(int(unix), UTC).isoformat().replace("+00:00", "Z")
        except (TypeError, ValueError, OverflowError, OSError):
            raise ValueError(unix) from None
    date = raw.get("date")
    if date is None:
        return None
    if not isinstance(date, str):
        raise ValueError(date)
    datetime.fromisoformat(date)
    return date


def _media(raw: dict[str, Any]) -> str | None:
    if "photo" in raw:
        return "[photo]"
    kind = text_of(raw.get("media_type"))
    if kind == "sticker":
        emoji = text_of(raw.get("sticker_emoji"))
        return f"[sticker {emoji}]" if emoji else "[sticker]"
    if kind:
        return f"[{kind}]"
    if "file" in raw:
        return "[file]"
    if isinstance(raw.get("location_information"), dict):
        return "[location]"
    return None


FORMAT = ChatFormat(
    name="telegram",
    description="Telegram Desktop JSON export (one chat or the whole account)",
    extensions=(".json",),
    sniff=sniff,
    read=read,
)
