"""WhatsApp "Export chat" text: Android and iOS layouts, date orders, 12/24-hour clocks,
multi-line messages and system lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from groomwatch.conversation import Conversation
from groomwatch.errors import FormatError
from groomwatch.formats import (
    ReadOptions,
    ReadReport,
    detect_format,
    read_bytes,
    read_conversations,
)


def _one(path: Path) -> tuple[Conversation, ReadReport]:
    report = ReadReport()
    convs = list(read_conversations(path, report=report))
    assert len(convs) == 1
    return convs[0], report


def test_android_24h_multiline_and_system_lines(fixtures_dir: Path) -> None:
    path = fixtures_dir / "formats" / "whatsapp-android-dmy.txt"
    assert detect_format(path) == "whatsapp"
    conv, report = _one(path)
    assert conv.platform == "whatsapp"
    assert conv.id == "whatsapp-android-dmy"
    texts = [m.text for m in conv.messages]
    assert texts == [
        "morning! are you coming to the match?",
        "yes, see you at 10\nbring the orange cones\n\nand the ball pump",
        "<Media omitted>",
        "This message was deleted",
        "good game today",
    ]
    assert not any("end-to-end" in t or "changed the subject" in t for t in texts)
    assert report.system_lines == 2
    assert [m.author for m in conv.messages] == ["Robin", "Kim", "Robin", "Kim", "Kim"]
    assert conv.messages[-1].time == "2024-01-21T21:05:00"
    assert [p.id for p in conv.participants] == ["Robin", "Kim"]


def test_ios_layout_with_marks_and_seconds(fixtures_dir: Path) -> None:
    conv, report = _one(fixtures_dir / "formats" / "whatsapp-ios-dmy.txt")
    assert [(m.author, m.text, m.time) for m in conv.messages] == [
        ("Robin", "morning! are you coming to the match?", "2024-01-21T09:16:40"),
        ("Kim", "yes, see you at 10\nbring the cones", "2024-01-21T09:17:05"),
        ("Robin", "image omitted", "2024-01-21T09:20:11"),
        ("Kim", "good game today", "2024-01-21T21:05:59"),
    ]
    assert report.system_lines == 1


def test_us_12_hour_month_first(fixtures_dir: Path) -> None:
    conv, _ = _one(fixtures_dir / "formats" / "whatsapp-android-mdy-12h.txt")
    assert [m.time for m in conv.messages] == [
        "2024-01-21T09:16:00",
        "2024-01-21T12:05:00",
        "2024-01-21T00:30:00",
    ]
    assert conv.meta["date_order"] == "mdy"


@pytest.mark.parametrize(
    ("name", "order"), [("whatsapp-german.txt", "dmy"), ("whatsapp-ymd.txt", "ymd")]
)
def test_other_date_layouts(fixtures_dir: Path, name: str, order: str) -> None:
    conv, _ = _one(fixtures_dir / "formats" / name)
    assert conv.meta["date_order"] == order
    assert conv.messages[0].time == "2024-01-21T09:16:00"


def test_ambiguous_dates_assume_day_first_and_say_so() -> None:
    data = b"03/04/2024, 10:00 - A: hi\n03/04/2024, 10:01 - B: hello\n"
    report = ReadReport()
    [conv] = read_bytes(data, filename="chat.txt", report=report)
    assert conv.messages[0].time == "2024-04-03T10:00:00"
    assert any("assumed day first" in n for n in report.notes)
    [conv] = read_bytes(data, filename="chat.txt", options=ReadOptions(date_order="mdy"))
    assert conv.messages[0].time == "2024-03-04T10:00:00"


def test_contradicting_dates_are_an_error() -> None:
    data = b"25/01/2024, 10:00 - A: hi\n01/25/2024, 10:01 - B: hello\n"
    with pytest.raises(FormatError, match="mix day-first"):
        read_bytes(data, filename="chat.txt", format="whatsapp")


def test_impossible_date_names_the_line() -> None:
    data = b"25/01/2024, 10:00 - A: hi\n31/02/2024, 10:01 - B: hello\n"
    with pytest.raises(FormatError) as info:
        read_bytes(data, filename="chat.txt", format="whatsapp")
    assert info.value.line == 2
    assert "chat.txt, line 2" in str(info.value)
    report = ReadReport()
    [conv] = read_bytes(
        data, filename="chat.txt", format="whatsapp", skip_invalid=True, report=report
    )
    assert [m.text for m in conv.messages] == ["hi"]
    assert [(s.line, s.path) for s in report.skipped] == [(2, "chat.txt")]


def test_text_before_the_first_message_is_an_error_naming_the_line() -> None:
    with pytest.raises(FormatError, match=r"chat.txt, line 1: not a WhatsApp export line"):
        read_bytes(b"hello\n25/01/2024, 10:00 - A: hi\n", filename="chat.txt", format="whatsapp")


def test_system_only_export_has_no_conversation() -> None:
    data = b"25/01/2024, 10:00 - Messages and calls are end-to-end encrypted.\n"
    assert read_bytes(data, filename="chat.txt", format="whatsapp") == []


def test_group_system_lines_are_dropped() -> None:
    data = (
        b'25/01/2024, 10:00 - Coach created group "Team"\n'
        b"25/01/2024, 10:00 - Coach added Kim\n"
        b"25/01/2024, 10:01 - Coach: welcome\n"
        b"25/01/2024, 10:02 - Kim left\n"
    )
    report = ReadReport()
    [conv] = read_bytes(data, filename="g.txt", report=report)
    assert [m.text for m in conv.messages] == ["welcome"]
    assert report.system_lines == 3


def test_examples_are_read(shared_data: Path) -> None:
    root = Path(__file__).resolve().parents[3] / "examples"
    conv, report = _one(root / "whatsapp-grooming-pattern.txt")
    assert 25 <= len(conv.messages) <= 40
    assert {m.author for m in conv.messages} == {"Alex", "Sam"}
    assert report.system_lines == 1
    assert report.notes == []


def test_ios_12_hour_layout() -> None:
    data = (
        "[1/21/24, 9:16:40\u202fAM] Robin: morning\n[1/21/24, 1:05:00\u202fPM] Kim: afternoon\n"
    ).encode()
    [conv] = read_bytes(data, filename="_chat.txt")
    assert [m.time for m in conv.messages] == ["2024-01-21T09:16:40", "2024-01-21T13:05:00"]
