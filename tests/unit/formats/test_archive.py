"""Chat exports inside ZIP archives (WhatsApp on iOS always exports one)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from groomwatch.errors import FormatError
from groomwatch.formats import ReadReport, read_bytes, read_conversations

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def make_zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_whatsapp_ios_style_zip(tmp_path: Path) -> None:
    chat = (EXAMPLES / "whatsapp-ordinary.txt").read_bytes()
    data = make_zip(
        {
            "_chat.txt": chat,
            "00000012-PHOTO-2024-09-13-15-48-00.jpg": bytes(range(256)) * 4,
            "__MACOSX/._chat.txt": b"\x00\x05\x16\x07",
        }
    )
    path = tmp_path / "WhatsApp Chat - Maya.zip"
    path.write_bytes(data)
    report = ReadReport()
    [conv] = read_conversations(path, report=report)
    assert conv.id == "WhatsApp Chat - Maya"
    assert [m.text for m in conv.messages] == [
        m.text for m in next(iter(read_conversations(EXAMPLES / "whatsapp-ordinary.txt"))).messages
    ]
    assert report.files == {str(path): "zip", f"{path}/_chat.txt": "whatsapp"}
    assert any("1 media or other file(s)" in n for n in report.notes)
    [same] = read_bytes(data, filename="WhatsApp Chat - Maya.zip")
    assert same == conv


def test_zip_of_several_exports() -> None:
    data = make_zip(
        {
            "a/conversations.jsonl": (EXAMPLES / "conversations.jsonl").read_bytes(),
            "b/chat.txt": (EXAMPLES / "whatsapp-ordinary.txt").read_bytes(),
            "b/notes.txt": b"just some notes, not a chat",
        }
    )
    report = ReadReport()
    convs = read_bytes(data, filename="exports.zip", report=report)
    assert [c.id for c in convs][-1] == "chat"
    assert len(convs) == 6
    assert [s.reason for s in report.skipped_files] == ["not a supported chat format"]


def test_damaged_and_oversized_archives(monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_zip({"_chat.txt": b"25/01/2024, 10:00 - A: hi\n" * 100})
    with pytest.raises(FormatError, match="not a readable ZIP archive"):
        read_bytes(data[:40], filename="x.zip")
    from groomwatch.formats import archive

    monkeypatch.setattr(archive, "MAX_UNPACKED_BYTES", 1000)
    with pytest.raises(FormatError, match="unpacks to more than"):
        read_bytes(data, filename="x.zip")


def test_nested_archives_are_not_opened() -> None:
    inner = make_zip({"_chat.txt": b"25/01/2024, 10:00 - A: hi\n"})
    report = ReadReport()
    assert read_bytes(make_zip({"inner.zip": inner}), filename="x.zip", report=report) == []
    assert any("1 media or other file(s)" in n for n in report.notes)
