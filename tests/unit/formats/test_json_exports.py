"""Discord (DiscordChatExporter) and Telegram Desktop JSON exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from groomwatch.errors import FormatError
from groomwatch.formats import ReadReport, detect_format, read_bytes, read_conversations


def test_discord_export(fixtures_dir: Path) -> None:
    path = fixtures_dir / "formats" / "discord.json"
    assert detect_format(path) == "discord"
    report = ReadReport()
    [conv] = read_conversations(path, report=report)
    assert conv.id == "900000000000000002"
    assert conv.platform == "discord"
    assert dict(conv.meta) == {"guild": "Homework Helpers", "channel": "maths"}
    assert [(m.author, m.text) for m in conv.messages] == [
        ("111", "can someone explain question 4?"),
        ("222", "sure, it's about fractions"),
        ("222", "[attachment: worksheet.png]"),
    ]
    assert conv.messages[0].time == "2024-01-20T18:01:00.000+00:00"
    assert [(p.id, p.name) for p in conv.participants] == [("111", "Robin"), ("222", "kim")]
    assert report.system_lines == 2


def test_discord_bad_message_names_the_field(fixtures_dir: Path) -> None:
    data = json.loads((fixtures_dir / "formats" / "discord.json").read_text())
    data["messages"][2]["content"] = 42
    raw = json.dumps(data).encode()
    with pytest.raises(FormatError) as info:
        read_bytes(raw, filename="d.json")
    assert info.value.field == "messages[2].content"
    report = ReadReport()
    [conv] = read_bytes(raw, filename="d.json", skip_invalid=True, report=report)
    assert len(conv.messages) == 2
    assert report.skipped[0].reason == "messages[2].content: must be a string"


def test_telegram_single_chat(fixtures_dir: Path) -> None:
    path = fixtures_dir / "formats" / "telegram-chat.json"
    assert detect_format(path) == "telegram"
    report = ReadReport()
    [conv] = read_conversations(path, report=report)
    assert conv.id == "4400000001"
    assert conv.platform == "telegram"
    assert [(m.author, m.text, m.time) for m in conv.messages] == [
        ("user1001", "morning! are you coming to the match?", "2024-01-21T09:16:00Z"),
        ("user1002", "yes, see you at 10!", "2024-01-21T09:17:00Z"),
        ("user1001", "[photo]", "2024-01-21T09:20:00Z"),
        ("user1002", "[sticker ⚽]", "2024-01-21T09:21:00"),
    ]
    assert [(p.id, p.name) for p in conv.participants] == [
        ("user1001", "Robin"),
        ("user1002", "Kim"),
    ]
    assert report.system_lines == 1


def test_telegram_account_export(fixtures_dir: Path) -> None:
    convs = list(read_conversations(fixtures_dir / "formats" / "telegram-account.json"))
    assert [(c.id, len(c)) for c in convs] == [("4400000001", 2), ("4400000002", 1)]
    assert convs[1].meta["type"] == "private_group"


def test_broken_json_names_line_and_column() -> None:
    with pytest.raises(FormatError) as info:
        read_bytes(
            b'{"channel": {"id": "1"},\n "messages": [\n}', filename="x.json", format="discord"
        )
    assert info.value.line == 3
    assert "column" in str(info.value)


def test_json_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(FormatError, match="not a Telegram export"):
        read_bytes(b"[1, 2]", filename="x.json", format="telegram")
    with pytest.raises(FormatError, match="no 'messages' list"):
        read_bytes(b'{"a": 1}', filename="x.json", format="discord")
