"""``groomwatch scan``: output contract, first_alert from the monitor, report, exit codes, and
the same output when several workers read a JSONL file in ranges."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from groomwatch.cli import main
from groomwatch.conversation import Conversation
from groomwatch.detect import Detector

CONTRACT_KEYS = ["id", "risk", "flagged", "first_alert", "suspect", "tactics"]


def run(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture
def fixture_file(fixtures_dir: Path) -> Path:
    return fixtures_dir / "detect" / "conversations.jsonl"


def _read(path: Path) -> list[Conversation]:
    return [Conversation.from_dict(json.loads(x)) for x in path.read_text().splitlines() if x]


def test_scan_writes_the_contract_in_input_order(
    fixture_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.jsonl"
    assert run(["scan", str(fixture_file), "--output", str(out), "--threshold", "0.02"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    convs = _read(fixture_file)
    assert [r["id"] for r in rows] == [c.id for c in convs]
    det = Detector.load()
    policy = det.default_policy.with_threshold(0.02)
    for row, conv in zip(rows, convs, strict=True):
        assert list(row) == CONTRACT_KEYS
        assert 0.0 <= row["risk"] <= 1.0
        assert row["flagged"] == (det.assess(conv, policy).risk >= 0.02)
        mon = det.monitor(policy, participants=conv.participants)
        for m in conv.messages:
            mon.update(m)
        assert row["first_alert"] == mon.first_alert
    assert "conversations" in capsys.readouterr().out  # the summary


def test_scan_to_stdout_keeps_the_summary_on_stderr(
    fixture_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["scan", str(fixture_file), "-o", "-"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == len(_read(fixture_file))
    assert all(list(json.loads(x)) == CONTRACT_KEYS for x in lines)
    assert "conversations" in captured.err


def test_scan_report(fixture_file: Path, tmp_path: Path) -> None:
    report = tmp_path / "r.html"
    code = run(
        [
            "scan",
            str(fixture_file),
            "-o",
            str(tmp_path / "o.jsonl"),
            "--report",
            str(report),
            "--threshold",
            "0",
            "--audience",
            "parent",
        ]
    )
    assert code == 0
    page = report.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "Conversation g1" in page
    assert "<svg" in page


def test_scan_whatsapp_export_without_format(fixtures_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "chat.txt"
    src.write_text(
        "01/03/2024, 16:40 - Sam: hi, how old are you?\n"
        "01/03/2024, 16:41 - Kim: 13\n"
        "01/03/2024, 16:42 - Sam: don't tell your parents we talk\n",
        encoding="utf-8",
    )
    out = tmp_path / "o.jsonl"
    assert run(["scan", str(src), "-o", str(out)]) == 0
    (row,) = [json.loads(x) for x in out.read_text().splitlines()]
    assert any(t["tactic"] == "secrecy" and t["message"] == 2 for t in row["tactics"])


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["scan", "/nonexistent/file.jsonl"], "no such file"),
        (["scan", "{fixture}", "--threshold", "1.5"], "--threshold"),
        (["scan", "{fixture}", "--engine", "spark"], "--engine"),
        (["scan", "{fixture}", "--model", "/nonexistent"], "--model"),
        (["scan", "{bad}"], "line 2"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    argv: list[str],
    needle: str,
    fixture_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "messages": []}\n{"id": "b", "messages": [{"text": 5}]}\n')
    argv = [a.format(fixture=fixture_file, bad=bad) for a in argv]
    assert run([*argv, "-o", str(tmp_path / "o.jsonl")]) == 2
    err = capsys.readouterr().err
    assert needle in err
    assert "Traceback" not in err


def test_skip_invalid_keeps_the_good_records(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"id": "a", "messages": ["hi"]}\n{"id": "b", "messages": [{"text": 5}]}\n'
        '{"id": "c", "messages": ["hello"]}\n'
    )
    out = tmp_path / "o.jsonl"
    assert run(["scan", str(bad), "-o", str(out), "--skip-invalid"]) == 0
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ["a", "c"]


# With several workers a JSONL file is read by the workers in byte ranges (scan_jsonl): the
# command writes and says what one process does.


@pytest.fixture
def archive(fixture_file: Path, tmp_path: Path) -> Path:
    """Many conversations: the fixtures again and again under new ids, with everyday chats."""
    convs = _read(fixture_file)
    lines = []
    for k in range(10):
        for conv in convs:
            record = conv.to_dict()
            record["id"] = f"{conv.id}-{k}"
            lines.append(json.dumps(record))
            chat = [{"author": f"p{i % 2}", "text": f"see you at practice {i}"} for i in range(k)]
            lines.append(json.dumps({"id": f"chat-{conv.id}-{k}", "messages": chat}))
    path = tmp_path / "archive.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def ranges_used(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Small ranges, so that a small file is cut into many; lists the files scanned so."""
    from groomwatch.detect import parallel

    monkeypatch.setattr(parallel, "CHUNK_BYTES", 700)
    used: list[Path] = []
    scan_jsonl = parallel.scan_jsonl

    def counted(path: Path, **kwargs: Any) -> Iterator[Any]:
        used.append(path)
        return scan_jsonl(path, **kwargs)

    monkeypatch.setattr(parallel, "scan_jsonl", counted)
    return used


def _scan(
    capsys: pytest.CaptureFixture[str], src: Path, out: Path, *options: str
) -> tuple[int, str, str, str]:
    """Exit status, output file, stdout and stderr of a scan (the report's time left out)."""
    capsys.readouterr()
    code = run(["scan", str(src), "-o", str(out), *options])
    captured = capsys.readouterr()
    written = out.read_text(encoding="utf-8") if out.exists() else ""
    return code, written, captured.out, captured.err


def test_workers_reading_ranges_write_what_one_process_writes(
    archive: Path, tmp_path: Path, ranges_used: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    one = _scan(capsys, archive, tmp_path / "one.jsonl", "--workers", "1", "--threshold", "0.3")
    assert ranges_used == []
    two = _scan(capsys, archive, tmp_path / "two.jsonl", "--workers", "2", "--threshold", "0.3")
    assert ranges_used == [archive]
    assert one == two
    assert one[0] == 0
    assert len(one[1].splitlines()) == 120
    assert "120 conversations" in one[2]


def test_workers_reading_ranges_stop_at_the_first_bad_line(
    archive: Path, tmp_path: Path, ranges_used: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    lines = archive.read_text(encoding="utf-8").splitlines(keepends=True)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        "".join([*lines[:70], '{"id": "x", "messages": [{"text": 5}]}\n', *lines[70:]]),
        encoding="utf-8",
    )
    code, written, _, err = _scan(capsys, bad, tmp_path / "two.jsonl", "--workers", "2")
    assert ranges_used == [bad]
    assert code == 2
    assert f"{bad}, line 71, field messages[0].text: must be a string" in err
    assert "Traceback" not in err
    # one process says the same; the workers have written every conversation before the line
    assert _scan(capsys, bad, tmp_path / "one.jsonl", "--workers", "1")[::3] == (code, err)
    good = tmp_path / "good.jsonl"
    good.write_text("".join(lines[:70]), encoding="utf-8")
    assert written == _scan(capsys, good, tmp_path / "good-out.jsonl", "--workers", "1")[1]


def test_workers_reading_ranges_skip_invalid_lines(
    archive: Path, tmp_path: Path, ranges_used: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    lines = archive.read_text(encoding="utf-8").splitlines(keepends=True)
    bad = tmp_path / "bad.jsonl"
    lines[5:5] = ["{oops\n"]
    lines[60:60] = ['{"id": "x", "messages": [{"text": 5}]}\n', "\n", "[]\n"]
    bad.write_text("".join(lines), encoding="utf-8")
    one = _scan(capsys, bad, tmp_path / "one.jsonl", "--workers", "1", "--skip-invalid")
    two = _scan(capsys, bad, tmp_path / "two.jsonl", "--workers", "2", "--skip-invalid")
    assert ranges_used == [bad]
    assert one == two
    skipped = [x for x in two[3].splitlines() if x.startswith("skipped:")]
    assert skipped == [
        f"skipped: {bad}, line 6: not valid JSON: Expecting property name enclosed in double "
        "quotes at column 2",
        f"skipped: {bad}, line 61: messages[0].text: must be a string",
        f"skipped: {bad}, line 63: a conversation must be a JSON object, not a list",
    ]
    assert len(two[1].splitlines()) == 120


def test_workers_reading_ranges_write_the_same_report(
    archive: Path, tmp_path: Path, ranges_used: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pages = []
    for workers in ("1", "2"):
        report = tmp_path / f"report-{workers}.html"
        out = tmp_path / f"out-{workers}.jsonl"
        code = run(["scan", str(archive), "-o", str(out), "--workers", workers])
        assert code == 0
        code = run(
            ["scan", str(archive), "-o", str(out), "--workers", workers, "--report", str(report)]
        )
        assert code == 0
        page = report.read_text(encoding="utf-8")
        pages.append(re.sub(r"Generated [^&]*&middot;", "", page))
    assert ranges_used == [archive, archive]
    assert pages[0] == pages[1]
    assert "Conversation g1-0" in pages[0]
    capsys.readouterr()


def test_other_inputs_keep_the_reader_in_this_process(
    tmp_path: Path, ranges_used: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    chat = tmp_path / "chat.txt"
    chat.write_text(
        "01/03/2024, 16:40 - Sam: hi, how old are you?\n01/03/2024, 16:41 - Kim: 13\n",
        encoding="utf-8",
    )
    utf16 = tmp_path / "utf16.jsonl"
    utf16.write_text('{"id": "a", "messages": ["hi"]}\n', encoding="utf-16")
    for src in (chat, utf16, tmp_path):
        assert run(["scan", str(src), "-o", str(tmp_path / "o.out"), "--workers", "2"]) == 0
    assert ranges_used == []
    capsys.readouterr()
