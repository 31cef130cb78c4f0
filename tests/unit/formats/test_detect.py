"""``--format auto``: detection by extension and content; folders; empty files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from groomwatch.errors import FormatError
from groomwatch.formats import FORMATS, ReadReport, detect_format, read_bytes, read_conversations

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_registry_is_explicit_and_checked() -> None:
    assert FORMATS.names() == ["pan12", "jsonl", "discord", "telegram", "whatsapp", "csv", "text"]
    with pytest.raises(ValueError, match="twice"):
        FORMATS.add(FORMATS.get("jsonl"))
    with pytest.raises(FormatError, match="unknown format 'xml'"):
        FORMATS.get("xml")
    with pytest.raises(FormatError, match="unknown format"):
        read_conversations("whatever", format="xml")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("whatsapp-android-dmy.txt", "whatsapp"),
        ("whatsapp-ios-dmy.txt", "whatsapp"),
        ("discord.json", "discord"),
        ("telegram-chat.json", "telegram"),
        ("telegram-account.json", "telegram"),
        ("plain.txt", "text"),
        ("messages.csv", "csv"),
    ],
)
def test_detection_by_content_without_extension(
    fixtures_dir: Path, tmp_path: Path, name: str, expected: str
) -> None:
    bare = tmp_path / "export"
    shutil.copy(fixtures_dir / "formats" / name, bare)
    assert detect_format(bare) == expected


def test_jsonl_extension_is_trusted_so_the_reader_names_the_bad_line() -> None:
    with pytest.raises(FormatError, match=r"x\.jsonl, line 1: not valid JSON"):
        read_bytes(b"not json\n", filename="x.jsonl")


def test_pan12_is_detected(shared_data: Path) -> None:
    assert detect_format(shared_data / "pan12-toy" / "test") == "pan12"
    xml = next((shared_data / "pan12-toy" / "train").glob("*.xml"))
    assert detect_format(xml) == "pan12"


def test_unknown_content_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.bin"
    path.write_bytes(b"\x00\x01\x02 random bytes")
    with pytest.raises(FormatError, match=r"cannot tell the format.*give --format"):
        detect_format(path)
    with pytest.raises(FormatError, match="cannot tell the format"):
        list(read_conversations(path))


def test_empty_files_give_no_conversation(tmp_path: Path) -> None:
    for name, data in [("a.txt", b""), ("b.jsonl", b"\n\n"), ("c", b"\xef\xbb\xbf  \n")]:
        (tmp_path / name).write_bytes(data)
        assert list(read_conversations(tmp_path / name)) == []
        assert read_bytes(data, filename=name) == []


def test_folder_reads_every_supported_file(tmp_path: Path) -> None:
    for f in EXAMPLES.iterdir():
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "empty.txt").write_bytes(b"")
    report = ReadReport()
    convs = list(read_conversations(tmp_path, report=report))
    assert len(convs) == 7
    assert sorted(Path(f).name for f in report.files) == [
        "conversations.jsonl",
        "whatsapp-grooming-pattern.txt",
        "whatsapp-ordinary.txt",
    ]
    assert sorted((Path(s.path).name, s.reason) for s in report.skipped_files) == [
        ("README.md", "ground truth or notes, not a chat"),
        ("empty.txt", "empty"),
    ]


def test_folder_with_a_format_reads_only_its_extensions() -> None:
    convs = list(read_conversations(EXAMPLES, format="jsonl"))
    assert len(convs) == 5


def test_missing_path() -> None:
    with pytest.raises(FormatError, match="no such file or folder"):
        list(read_conversations("/nonexistent/chat.txt"))
