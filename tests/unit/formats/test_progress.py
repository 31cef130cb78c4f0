"""The progress bar on slow reads: it wraps the file without changing what is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from groomwatch.formats import base, read_conversations


def test_progress_bar_reads_the_same(
    fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(base._ProgressFile, "DELAY", 0.0)  # show it at once
    for name in ("messages.csv", "whatsapp-android-dmy.txt", "discord.json"):
        path = fixtures_dir / "formats" / name
        assert list(read_conversations(path, progress=True)) == list(read_conversations(path))
    capsys.readouterr()


def test_progress_file_counts_bytes(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"id": "a"}\n' * 1000)
    stream = base.Source(path=path, progress=True).open()
    assert stream.read() == path.read_bytes()
    raw = stream.raw  # type: ignore[attr-defined]
    assert raw._done == path.stat().st_size
    stream.close()
    assert raw.closed
