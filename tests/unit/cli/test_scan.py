"""``groomwatch scan``: output contract, first_alert from the monitor, report, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

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
