"""Canonical JSONL: reading, writing, and the round trip as a property."""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from groomwatch.conversation import Conversation, Message, Participant, Role
from groomwatch.errors import FormatError
from groomwatch.formats import ReadOptions, ReadReport, read_bytes, read_conversations, write_jsonl
from groomwatch.formats.base import ReadContext
from groomwatch.formats.jsonl import line_ranges, read_range, splittable

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


@pytest.mark.parametrize("extra", [-4, -3, -2, -1, 0, 1, 2, 3, 4])
def test_first_line_near_the_limit_after_a_bom(extra: int) -> None:
    """The BOM is not part of the first line: a first line of up to the limit is read whole and
    the lines after it are read; a longer one is reported as too long, not cut."""
    from groomwatch.formats import ReadOptions

    limit = 256
    head = b'{"id": "a", "messages": [{"text": "'
    tail = b'"}]}'
    first = head + b"w" * (limit + extra - len(head) - len(tail)) + tail
    assert len(first) == limit + extra
    data = b"\xef\xbb\xbf" + first + b'\n{"id": "b"}\n'
    opts = ReadOptions(max_record_bytes=limit)
    if extra <= 0:
        assert [c.id for c in read_bytes(data, filename="x.jsonl", options=opts)] == ["a", "b"]
    else:
        with pytest.raises(FormatError, match=f"line 1: line is longer than {limit} bytes"):
            read_bytes(data, filename="x.jsonl", options=opts)
        convs = read_bytes(data, filename="x.jsonl", options=opts, skip_invalid=True)
        assert [c.id for c in convs] == ["b"]


# Reading a file in byte ranges (the scan's workers): the same as reading it whole.

GOOD = '{"id": "%s", "messages": [{"author": "sam", "text": "see you at practice"}]}'
MIXED = b"".join(
    [
        b'{"id": "a", "messages": [{"author": "kim", "text": "hi, how was school?"}]}\n',
        b"\n",
        b'{"id": "b", "messages": ["plain text message"]}\r\n',
        b"   \n",
        b'{"id": "c", "messages": [{"text": 1}]}\n',  # a bad field
        b'{"id": "d", "messages": [{"text": "caf\xe9 later?"}]}\n',  # Windows-1252, not UTF-8
        b"{oops\n",  # not JSON
        b'{"id": "e", "messages": [{"text": "' + b"w " * 300 + b'"}]}\n',  # longer than 256
        b'["not", "an", "object"]\n',
        b'{"id": 7, "label": 1, "participants": [{"id": "u", "role": "child", "age": 12}]}\n',
        b'{"id": "f", "messages": [{"author": "", "text": "bye"}]}',  # no line break at the end
    ]
)
SMALL = ReadOptions(max_record_bytes=256)


def _ranged(
    path: Path, chunk: int, options: ReadOptions, skip: bool
) -> tuple[list[Conversation], list[tuple[int | None, str]], FormatError | None]:
    """Read ``path`` range by range as the scan's workers do, line numbers made the file's."""
    convs: list[Conversation] = []
    skipped: list[tuple[int | None, str]] = []
    offset = 0
    for start, end in line_ranges(path, chunk):
        report = ReadReport()
        ctx = ReadContext(str(path), options, report, skip)
        got = read_range(path, start, end, ctx, lambda data, _n: Conversation.from_dict(data))
        convs.extend(got.records)
        skipped.extend(
            (None if s.line is None else s.line + offset, s.reason) for s in report.skipped
        )
        if got.error is not None:
            line = None if got.error.line is None else got.error.line + offset
            error = FormatError(
                got.error.reason, path=got.error.path, line=line, field=got.error.field
            )
            return convs, skipped, error
        offset += got.lines
    return convs, skipped, None


def _whole(
    path: Path, options: ReadOptions, skip: bool
) -> tuple[list[Conversation], list[tuple[int | None, str]], FormatError | None]:
    report = ReadReport()
    convs: list[Conversation] = []
    try:
        for conv in read_conversations(
            path, "jsonl", skip_invalid=skip, options=options, report=report
        ):
            convs.append(conv)
    except FormatError as exc:
        return convs, [], exc
    return convs, [(s.line, s.reason) for s in report.skipped], None


@pytest.mark.parametrize("chunk", [1, 2, 17, 100, 333, 10_000])
@pytest.mark.parametrize("skip", [True, False])
def test_ranges_read_what_the_whole_file_reads(tmp_path: Path, chunk: int, skip: bool) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(MIXED)
    convs, skipped, error = _ranged(path, chunk, SMALL, skip)
    want_convs, want_skipped, want_error = _whole(path, SMALL, skip)
    assert convs == want_convs
    assert [c.meta for c in convs] == [c.meta for c in want_convs]
    assert skipped == want_skipped
    if skip:
        assert [line for line, _ in skipped] == [5, 7, 8, 9]
        assert [c.id for c in convs] == ["a", "b", "d", "7", "f"]
        assert error is None
    else:
        assert error is not None
        assert want_error is not None
        assert str(error) == str(want_error)
        assert (error.line, error.field) == (5, "messages[0].text")
        assert [c.id for c in convs] == ["a", "b"]  # the records before the bad line are kept


def test_line_ranges_cut_after_line_breaks(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    data = b"".join((GOOD % i).encode() + b"\n" for i in range(50))
    long_line = (GOOD % ("long" + "x" * 5000)).encode() + b"\n"
    data = data + long_line + data
    path.write_bytes(data)
    for chunk in (1, 64, 500, 4096, len(data), 10 * len(data)):
        ranges = list(line_ranges(path, chunk))
        assert ranges[0][0] == 0
        assert ranges[-1][1] == len(data)
        assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
        assert all(data[end - 1 : end] == b"\n" for _, end in ranges)
        assert all(end - start >= min(chunk, len(data)) for start, end in ranges[:-1])
        # the long line is in one range, whatever the chunk size
        at = data.index(long_line)
        assert any(s <= at and at + len(long_line) <= e for s, e in ranges)
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert list(line_ranges(empty, 10)) == []
    with pytest.raises(ValueError, match="chunk_bytes"):
        list(line_ranges(path, 0))


def test_a_line_longer_than_a_range(tmp_path: Path) -> None:
    """A record longer than the chunk size is read whole; one longer than the limit on a line
    is refused (or skipped) with its line number, as when the file is read whole."""
    path = tmp_path / "long.jsonl"
    big = json.dumps({"id": "big", "messages": [{"text": "w " * 3000}]}).encode()
    huge = json.dumps({"id": "huge", "messages": [{"text": "w " * 30_000}]}).encode()
    path.write_bytes(b'{"id": "a"}\n' + big + b"\n" + huge + b'\n{"id": "c"}\n')
    opts = ReadOptions(max_record_bytes=20_000)
    for chunk in (10, 5000):
        convs, skipped, error = _ranged(path, chunk, opts, skip=True)
        assert [c.id for c in convs] == ["a", "big", "c"]
        assert skipped == [(3, "line is longer than 20000 bytes")]
        _, _, error = _ranged(path, chunk, opts, skip=False)
        assert str(error) == f"{path}, line 3: line is longer than 20000 bytes"
        assert (
            _ranged(path, chunk, ReadOptions(), skip=False)[0]
            == _whole(path, ReadOptions(), skip=False)[0]
        )


def test_byte_order_marks(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (GOOD % "a").encode() + b"\n" + (GOOD % "b").encode())
    assert splittable(path)
    for chunk in (1, 1000):
        assert [c.id for c in _ranged(path, chunk, ReadOptions(), skip=False)[0]] == ["a", "b"]
    # A first line too long for the limit once the mark is read with it: not cut into ranges.
    assert not splittable(path, ReadOptions(max_record_bytes=len(GOOD % "a") + 2))
    assert splittable(path, ReadOptions(max_record_bytes=len(GOOD % "a") + 3))
    utf16 = tmp_path / "utf16.jsonl"
    utf16.write_bytes(((GOOD % "a") + "\n").encode("utf-16"))
    assert not splittable(utf16)
    plain = tmp_path / "plain.jsonl"
    plain.write_bytes((GOOD % "a").encode())
    assert splittable(plain)
    assert not splittable(tmp_path / "missing.jsonl")


def test_a_range_of_a_missing_file_says_so(tmp_path: Path) -> None:
    ctx = ReadContext("gone.jsonl", ReadOptions(), ReadReport(), False)
    got = read_range(tmp_path / "gone.jsonl", 0, 10, ctx, lambda data, _n: data)
    assert got.records == []
    assert got.error is not None
    assert str(got.error).startswith("gone.jsonl: cannot open")
