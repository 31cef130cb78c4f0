"""Discord channel exports made with DiscordChatExporter (``--format Json``).

Kept: each user message (``Default`` and ``Reply``) with its author id, text and timestamp;
attachments, stickers and embeds as ``[attachment: name]``-style lines of text; author display
names as participants; guild and channel names in ``meta``. Dropped: system messages (members
joining, pins, calls, renames: counted in the report), reactions, mentions, roles, avatars.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from groomwatch.conversation import Conversation, Message, Participant
from groomwatch.formats.base import ChatFormat, ReadContext, Source
from groomwatch.formats.jsonexport import head_object_keys, load_json, text_of

_USER_TYPES = frozenset({"Default", "Reply"})


def sniff(head: str, suffix: str | None) -> bool:
    flat = head_object_keys(head)
    return flat.startswith("{") and '"channel":{' in flat and '"messages":' in flat


def read(source: Source, ctx: ReadContext) -> Iterator[Conversation]:
    data = load_json(source, ctx)
    if data is None:
        return
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        raise ctx.error("not a DiscordChatExporter JSON export: no 'messages' list at the top")
    channel = data.get("channel") if isinstance(data.get("channel"), dict) else {}
    guild = data.get("guild") if isinstance(data.get("guild"), dict) else {}
    assert isinstance(channel, dict)
    assert isinstance(guild, dict)
    messages: list[Message] = []
    names: dict[str, str | None] = {}
    for i, raw in enumerate(data["messages"]):
        where = f"messages[{i}]"
        if not isinstance(raw, dict):
            ctx.fail("must be an object", field=where)
            continue
        kind = raw.get("type", "Default")
        if kind not in _USER_TYPES:
            ctx.report.system_lines += 1
            continue
        author = raw.get("author")
        author_id = text_of(author.get("id")) if isinstance(author, dict) else None
        if not isinstance(author, dict) or not author_id:
            ctx.fail("must be an object with an 'id'", field=f"{where}.author")
            continue
        content = raw.get("content", "")
        if content is None:
            content = ""
        if not isinstance(content, str):
            ctx.fail("must be a string", field=f"{where}.content")
            continue
        timestamp = raw.get("timestamp")
        if timestamp is not None and not isinstance(timestamp, str):
            ctx.fail("must be an ISO 8601 string", field=f"{where}.timestamp")
            continue
        parts = [content] if content else []
        parts += _extras(raw)
        messages.append(Message(text="\n".join(parts), author=author_id, time=timestamp or None))
        if author_id not in names:
            name = text_of(author.get("nickname")) or text_of(author.get("name"))
            names[author_id] = name
    if not messages:
        return
    cid = text_of(channel.get("id")) or source.stem
    meta = {
        k: v
        for k, v in (
            ("guild", text_of(guild.get("name"))),
            ("channel", text_of(channel.get("name"))),
        )
        if v
    }
    yield Conversation(
        id=cid,
        messages=tuple(messages),
        participants=tuple(Participant(id=a, name=n) for a, n in names.items()),
        platform="discord",
        meta=meta,
    )


def _extras(raw: dict[str, Any]) -> list[str]:
    out = []
    for item in _objects(raw.get("attachments")):
        out.append(f"[attachment: {text_of(item.get('fileName')) or 'file'}]")
    for item in _objects(raw.get("stickers")):
        out.append(f"[sticker: {text_of(item.get('name')) or 'sticker'}]")
    for item in _objects(raw.get("embeds")):
        label = text_of(item.get("title")) or text_of(item.get("url"))
        out.append(f"[embed: {label}]" if label else "[embed]")
    return out


def _objects(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


FORMAT = ChatFormat(
    name="discord",
    description="Discord channel export from DiscordChatExporter (JSON)",
    extensions=(".json",),
    sniff=sniff,
    read=read,
)
