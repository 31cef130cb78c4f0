"""The data model every part of groomwatch shares: :class:`Message`, :class:`Participant`,
:class:`Conversation`.

They mirror the canonical conversation JSONL of DESIGN.md, one conversation a line::

    {"id": "c1", "platform": "optional", "label": 0,
     "participants": [{"id": "u1", "role": "unknown|child|adult", "age": 13}],
     "messages": [{"author": "u1", "text": "hi", "time": "2012-03-01T16:43:00Z"}]}

``author``, ``time``, ``participants``, ``platform`` and ``label`` may be missing or null. A
message's 0-based index in ``messages`` is how every output refers to it.

The classes are frozen, slotted dataclasses rather than pydantic models: readers build millions of
messages (the PAN 2012 test corpus has over two million) and validation happens once, at the edge,
in :func:`Conversation.from_dict`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from groomwatch.errors import RecordError


class Role(StrEnum):
    """What is known of a participant: a child, an adult, or nothing."""

    UNKNOWN = "unknown"
    CHILD = "child"
    ADULT = "adult"


@dataclass(frozen=True, slots=True)
class Participant:
    """Someone who writes in a conversation. ``age`` is the stated or known age, if any."""

    id: str
    role: Role = Role.UNKNOWN
    age: int | None = None
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "role": self.role.value}
        if self.age is not None:
            out["age"] = self.age
        if self.name is not None:
            out["name"] = self.name
        return out


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message.

    ``time`` is an ISO 8601 string: a date-time where the source has one (``2012-03-01T16:43:00Z``,
    or without offset when the export has no zone), or a time of day (``20:48``) where the source
    only has that, as in PAN 2012. ``line`` is the source's own message number where it has one
    (PAN 2012's ``line`` attribute, used by its problem 2 ground truth).
    """

    text: str
    author: str | None = None
    time: str | None = None
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"author": self.author, "text": self.text, "time": self.time}
        if self.line is not None:
            out["line"] = self.line
        return out


@dataclass(frozen=True, slots=True)
class Conversation:
    """A conversation: its messages in order, and what is known of it."""

    id: str
    messages: tuple[Message, ...] = ()
    participants: tuple[Participant, ...] = ()
    platform: str | None = None
    label: int | None = None
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __len__(self) -> int:
        return len(self.messages)

    @property
    def authors(self) -> list[str]:
        """Distinct message authors in order of first appearance (participants without messages
        are not included)."""
        seen: dict[str, None] = {}
        for m in self.messages:
            if m.author is not None and m.author not in seen:
                seen[m.author] = None
        return list(seen)

    def participant(self, pid: str) -> Participant | None:
        for p in self.participants:
            if p.id == pid:
                return p
        return None

    def prefix(self, n: int) -> Conversation:
        """The same conversation with only its first ``n`` messages."""
        return Conversation(
            id=self.id,
            messages=self.messages[:n],
            participants=self.participants,
            platform=self.platform,
            label=self.label,
            meta=self.meta,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        if self.platform is not None:
            out["platform"] = self.platform
        if self.label is not None:
            out["label"] = self.label
        if self.participants:
            out["participants"] = [p.to_dict() for p in self.participants]
        out["messages"] = [m.to_dict() for m in self.messages]
        return out

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "<input>") -> Conversation:
        """Validate one canonical record. Raises :class:`RecordError` naming the field at fault
        (``messages[3].text``) so that readers can report file, line and field."""
        if not isinstance(data, Mapping):
            raise RecordError(f"a conversation must be a JSON object, not {_kind(data)}")
        cid = data.get("id")
        if isinstance(cid, int) and not isinstance(cid, bool):
            cid = str(cid)
        if not isinstance(cid, str) or not cid:
            raise RecordError("must be a non-empty string", field="id")
        platform = data.get("platform")
        if platform is not None and not isinstance(platform, str):
            raise RecordError("must be a string or null", field="platform")
        label = data.get("label")
        if label is not None:
            if isinstance(label, bool) or label not in (0, 1):
                raise RecordError("must be 0, 1 or null", field="label")
            label = int(label)
        raw_msgs = data.get("messages")
        if raw_msgs is None:
            raw_msgs = []
        if not isinstance(raw_msgs, list):
            raise RecordError("must be a list", field="messages")
        messages = tuple(_message(m, i) for i, m in enumerate(raw_msgs))
        raw_parts = data.get("participants") or []
        if not isinstance(raw_parts, list):
            raise RecordError("must be a list or null", field="participants")
        participants = tuple(_participant(p, i) for i, p in enumerate(raw_parts))
        known = {"id", "platform", "label", "messages", "participants"}
        meta = {k: v for k, v in data.items() if k not in known}
        return cls(
            id=cid,
            messages=messages,
            participants=participants,
            platform=platform,
            label=label,
            meta=meta,
        )


def conversation_from_texts(
    cid: str, texts: Iterable[str], *, label: int | None = None
) -> Conversation:
    """A conversation with no authors and no times, as in segment-level corpora."""
    return Conversation(id=cid, messages=tuple(Message(text=t) for t in texts), label=label)


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _message(raw: Any, i: int) -> Message:
    where = f"messages[{i}]"
    if isinstance(raw, str):
        return Message(text=raw)
    if not isinstance(raw, Mapping):
        raise RecordError(f"must be an object, not {_kind(raw)}", field=where)
    text = raw.get("text")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise RecordError("must be a string", field=f"{where}.text")
    author = raw.get("author")
    if isinstance(author, int) and not isinstance(author, bool):
        author = str(author)
    if author is not None and not isinstance(author, str):
        raise RecordError("must be a string or null", field=f"{where}.author")
    time = raw.get("time")
    if time is not None and not isinstance(time, str):
        raise RecordError("must be an ISO 8601 string or null", field=f"{where}.time")
    line = raw.get("line")
    if line is not None and (isinstance(line, bool) or not isinstance(line, int)):
        raise RecordError("must be an integer or null", field=f"{where}.line")
    return Message(text=text, author=author or None, time=time or None, line=line)


def _participant(raw: Any, i: int) -> Participant:
    where = f"participants[{i}]"
    if not isinstance(raw, Mapping):
        raise RecordError(f"must be an object, not {_kind(raw)}", field=where)
    pid = raw.get("id")
    if isinstance(pid, int) and not isinstance(pid, bool):
        pid = str(pid)
    if not isinstance(pid, str) or not pid:
        raise RecordError("must be a non-empty string", field=f"{where}.id")
    role_raw = raw.get("role") or "unknown"
    try:
        role = Role(role_raw)
    except ValueError:
        raise RecordError("must be one of unknown, child, adult", field=f"{where}.role") from None
    age = raw.get("age")
    if age is not None and (isinstance(age, bool) or not isinstance(age, int) or not 0 < age < 130):
        raise RecordError("must be a whole number of years or null", field=f"{where}.age")
    name = raw.get("name")
    if name is not None and not isinstance(name, str):
        raise RecordError("must be a string or null", field=f"{where}.name")
    return Participant(id=pid, role=role, age=age, name=name)
