"""Plain ``name: text`` transcripts and CSV/TSV files."""

from __future__ import annotations

from pathlib import Path

import pytest

from groomwatch.errors import FormatError
from groomwatch.formats import (
    ReadOptions,
    ReadReport,
    detect_format,
    read_bytes,
    read_conversations,
)


def test_plain_text(fixtures_dir: Path) -> None:
    path = fixtures_dir / "formats" / "plain.txt"
    assert detect_format(path) == "text"
    [conv] = read_conversations(path)
    assert [(m.author, m.text) for m in conv.messages] == [
        ("Robin", "are you coming to the match?"),
        ("Kim", "yes, see you at 10\nbring the cones"),
        ("Robin", "great"),
    ]


def test_plain_text_with_times(fixtures_dir: Path) -> None:
    [conv] = read_conversations(fixtures_dir / "formats" / "plain-timed.txt")
    assert [m.time for m in conv.messages] == ["2024-01-21T09:16:00", "09:17"]


def test_plain_text_without_names_is_one_message_a_line() -> None:
    [conv] = read_bytes(b"hello there\n\nhow are you\n", format="text")
    assert [(m.author, m.text) for m in conv.messages] == [
        (None, "hello there"),
        (None, "how are you"),
    ]


def test_csv_grouped_by_conversation(fixtures_dir: Path) -> None:
    path = fixtures_dir / "formats" / "messages.csv"
    assert detect_format(path) == "csv"
    convs = list(read_conversations(path))
    assert [(c.id, c.label, len(c)) for c in convs] == [("c1", 0, 3), ("c2", 1, 1)]
    c1 = convs[0]
    assert [m.author for m in c1.messages] == ["robin", "kim", "robin"]
    assert c1.messages[1].text == "yes, see you at 10\nbring the cones"
    assert [m.time for m in c1.messages] == [
        "2024-01-21T09:16:00Z",
        "2024-01-21T09:17:00Z",
        "2024-01-21T09:20:00",
    ]
    assert convs[1].messages[0].time == "2024-01-21T09:16:00Z"  # a Unix timestamp
    assert [m.line for m in c1.messages] == [2, 3, 6]


def test_csv_segments_one_conversation_a_row(shared_data: Path) -> None:
    convs = list(read_conversations(shared_data / "vtpan-segments-dev.csv"))
    assert len(convs) == 1183
    assert sum(c.label == 1 for c in convs) == 148
    assert all(len(c.messages) == 1 and c.messages[0].author is None for c in convs)
    assert len({c.id for c in convs}) == 1183


def test_csv_configured_columns_semicolon() -> None:
    data = "Nachricht;Klasse;Wer\nhallo;0;a\ntschüss;1;b\n".encode()
    opts = ReadOptions(text_column="nachricht", label_column="Klasse", author_column="wer")
    convs = read_bytes(data, filename="x.csv", options=opts)
    assert [(c.label, c.messages[0].text, c.messages[0].author) for c in convs] == [
        (0, "hallo", "a"),
        (1, "tschüss", "b"),
    ]


def test_csv_tsv() -> None:
    convs = read_bytes(b"text\tlabel\nhi\t1\n", filename="x.tsv")
    assert [(c.label, c.messages[0].text) for c in convs] == [(1, "hi")]


def test_csv_missing_named_column_lists_the_columns() -> None:
    with pytest.raises(FormatError, match=r"x.csv, line 1: no column 'body'.*text, label"):
        read_bytes(b"text,label\nhi,1\n", filename="x.csv", options=ReadOptions(text_column="body"))
    with pytest.raises(FormatError, match="no text column"):
        read_bytes(b"a,b\n1,2\n", filename="x.csv")


def test_csv_bad_rows_name_line_and_field() -> None:
    data = b"text,label\nok,0\nbad,maybe\ntoo,many,fields\nfine,1\n"
    with pytest.raises(FormatError) as info:
        read_bytes(data, filename="x.csv")
    assert (info.value.line, info.value.field) == (3, "label")
    report = ReadReport()
    convs = read_bytes(data, filename="x.csv", skip_invalid=True, report=report)
    assert [c.messages[0].text for c in convs] == ["ok", "fine"]
    assert [s.line for s in report.skipped] == [3, 4]


def test_csv_fields_longer_than_the_csv_module_default() -> None:
    big = "word " * 40_000  # 200 kB, above csv's 128 kB default field limit
    convs = read_bytes(f"text\n{big}\n".encode(), filename="x.csv")
    assert convs[0].messages[0].text == big
