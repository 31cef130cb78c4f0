"""The shared data model: validation at the edge with field-named errors, and the canonical dict."""

from __future__ import annotations

from typing import Any

import pytest

from groomwatch.conversation import (
    Conversation,
    Message,
    Participant,
    Role,
    conversation_from_texts,
)
from groomwatch.errors import FormatError, InputError, RecordError

RECORD: dict[str, Any] = {
    "id": "c1",
    "platform": "game-chat",
    "label": 1,
    "participants": [{"id": "u1", "role": "adult"}, {"id": "u2", "role": "child", "age": 13}],
    "messages": [
        {"author": "u1", "text": "hi", "time": "2024-03-01T16:43:00Z"},
        {"author": "u2", "text": "hello", "time": None, "line": 7},
    ],
    "source": "extra fields go to meta",
}


def test_from_dict_to_dict() -> None:
    conv = Conversation.from_dict(RECORD)
    assert conv.id == "c1"
    assert conv.participant("u2") == Participant("u2", Role.CHILD, 13)
    assert conv.participant("nobody") is None
    assert conv.messages[1].line == 7
    assert conv.meta == {"source": "extra fields go to meta"}
    assert conv.authors == ["u1", "u2"]
    out = conv.to_dict()
    assert out["messages"][1] == {"author": "u2", "text": "hello", "time": None, "line": 7}
    assert Conversation.from_dict(out) == conv
    assert len(conv) == 2


def test_minimal_records() -> None:
    conv = Conversation.from_dict({"id": 5, "messages": ["just text", {"text": None}]})
    assert conv.id == "5"
    assert conv.messages == (Message("just text"), Message(""))
    assert conv.to_dict() == {
        "id": "5",
        "messages": [
            {"author": None, "text": "just text", "time": None},
            {"author": None, "text": "", "time": None},
        ],
    }
    assert Conversation.from_dict({"id": "x"}).messages == ()


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"messages": []}, "id"),
        ({"id": ""}, "id"),
        ({"id": "a", "label": 2}, "label"),
        ({"id": "a", "label": True}, "label"),
        ({"id": "a", "platform": 3}, "platform"),
        ({"id": "a", "messages": {}}, "messages"),
        ({"id": "a", "messages": [3]}, "messages[0]"),
        ({"id": "a", "messages": [{"text": 1}]}, "messages[0].text"),
        ({"id": "a", "messages": [{"text": "", "author": []}]}, "messages[0].author"),
        ({"id": "a", "messages": [{"text": "", "time": 5}]}, "messages[0].time"),
        ({"id": "a", "messages": [{"text": "", "line": "1"}]}, "messages[0].line"),
        ({"id": "a", "participants": [{"role": "adult"}]}, "participants[0].id"),
        ({"id": "a", "participants": [{"id": "u", "role": "teen"}]}, "participants[0].role"),
        ({"id": "a", "participants": [{"id": "u", "age": 200}]}, "participants[0].age"),
        ({"id": "a", "participants": "u"}, "participants"),
    ],
)
def test_invalid_records_name_the_field(record: dict[str, Any], field: str) -> None:
    with pytest.raises(RecordError) as info:
        Conversation.from_dict(record)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")


def test_not_an_object() -> None:
    with pytest.raises(RecordError, match="must be a JSON object, not a list"):
        Conversation.from_dict([])


def test_prefix_and_texts() -> None:
    conv = conversation_from_texts("s", ["a", "b", "c"], label=0)
    assert [m.text for m in conv.prefix(2).messages] == ["a", "b"]
    assert conv.prefix(2).label == 0
    assert conv.authors == []


def test_frozen_and_slotted() -> None:
    m = Message("hi")
    with pytest.raises(AttributeError):
        m.text = "x"  # type: ignore[misc]
    assert not hasattr(m, "__dict__")


def test_errors_are_input_errors_with_location() -> None:
    err = FormatError("bad", path="a.jsonl", line=3, field="messages[0].text")
    assert isinstance(err, InputError)
    assert str(err) == "a.jsonl, line 3, field messages[0].text: bad"
    assert str(FormatError("bad")) == "<input>: bad"
