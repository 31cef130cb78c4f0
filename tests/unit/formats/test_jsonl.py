"""Canonical JSONL: reading, writing, and the round trip as a property."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from groomwatch.conversation import Conversation, Message, Participant, Role
from groomwatch.errors import FormatError
from groomwatch.formats import ReadReport, read_bytes, read_conversations, write_jsonl

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
_id = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)
_time = st.one_of(
    st.none(),
    st.datetimes().map(lambda d: d.isoformat()),
    st.times().map(lambda t: t.strftime("%H:%M")),
)
messages = st.builds(
    Message,
    text=_text,
    author=st.one_of(st.none(), _id),
    time=_time,
    line=st.one_of(st.none(), st.integers(0, 10**9)),
)
participants = st.builds(
    Participant,
    id=_id,
    role=st.sampled_from(list(Role)),
    age=st.one_of(st.none(), st.integers(1, 129)),
    name=st.one_of(st.none(), _text),
)
conversations = st.builds(
    Conversation,
    id=_id,
    messages=st.lists(messages, max_size=6).map(tuple),
    participants=st.lists(participants, max_size=3).map(tuple),
    platform=st.one_of(st.none(), _text),
    label=st.one_of(st.none(), st.sampled_from([0, 1])),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(conversations, max_size=5))
def test_round_trip(convs: list[Conversation]) -> None:
    out = io.StringIO()
    assert write_jsonl(convs, out) == len(convs)
    data = out.getvalue().encode("utf-8")
    assert data.count(b"\n") == len(convs)  # one conversation a line, whatever the text holds
    assert read_bytes(data, filename="x.jsonl") == convs


def test_examples_file() -> None:
    convs = list(read_conversations(EXAMPLES / "conversations.jsonl"))
    assert 4 <= len(convs) <= 6
    assert any(not c.participants and all(m.author is None for m in c.messages) for c in convs)
    assert any(p.role is Role.CHILD for c in convs for p in c.participants)


def test_write_to_path_and_meta_is_kept(tmp_path: Path) -> None:
    conv = Conversation(id="c", messages=(Message("hi", "u"),), meta={"predators": ["u"]})
    path = tmp_path / "out.jsonl"
    assert write_jsonl([conv], path) == 1
    record = json.loads(path.read_text(encoding="utf-8"))
    assert record["predators"] == ["u"]
    [back] = read_conversations(path)
    assert back == conv
    assert back.meta["predators"] == ["u"]


def test_bad_records_name_line_and_field() -> None:
    data = b'{"id": "a", "messages": []}\n\n{"id": "b", "messages": [{"text": 1}]}\n{oops\n'
    with pytest.raises(FormatError) as info:
        read_bytes(data, filename="in.jsonl")
    assert (info.value.path, info.value.line, info.value.field) == (
        "in.jsonl",
        3,
        "messages[0].text",
    )
    report = ReadReport()
    convs = read_bytes(data, filename="in.jsonl", skip_invalid=True, report=report)
    assert [c.id for c in convs] == ["a"]
    assert [(s.line, s.reason.split(":")[0]) for s in report.skipped] == [
        (3, "messages[0].text"),
        (4, "not valid JSON"),
    ]


def test_no_trailing_newline_crlf_and_bom() -> None:
    data = b'\xef\xbb\xbf{"id": "a", "messages": [{"text": "x"}]}\r\n{"id": "b"}'
    assert [c.id for c in read_bytes(data, filename="x.jsonl")] == ["a", "b"]


def test_giant_line_is_refused_or_skipped() -> None:
    from groomwatch.formats import ReadOptions

    big = json.dumps({"id": "big", "messages": [{"text": "w " * 5000}]}).encode()
    data = b'{"id": "a"}\n' + big + b'\n{"id": "c"}\n'
    opts = ReadOptions(max_record_bytes=4096)
    with pytest.raises(FormatError, match="line 2: line is longer than 4096 bytes"):
        read_bytes(data, filename="x.jsonl", options=opts)
    convs = read_bytes(data, filename="x.jsonl", options=opts, skip_invalid=True)
    assert [c.id for c in convs] == ["a", "c"]
    assert [c.id for c in read_bytes(data, filename="x.jsonl")] == ["a", "big", "c"]
