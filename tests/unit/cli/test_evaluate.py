"""``groomwatch evaluate``: JSON metrics, the table, PAN 2012 truth, curves, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from groomwatch.cli import main


def run(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_evaluate_json(fixtures_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = fixtures_dir / "detect" / "conversations.jsonl"
    assert run(["evaluate", str(path), "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["conversations"] == 6
    assert m["positives"] == 2
    for key in ("precision", "recall", "f1", "f0.5", "fpr"):
        assert 0.0 <= m["whole"][key] <= 1.0
    assert {"prefix_10", "prefix_25", "prefix_50", "latency"} <= set(m)


def test_evaluate_table(fixtures_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = fixtures_dir / "detect" / "conversations.jsonl"
    assert run(["evaluate", str(path), "--threshold", "0.01"]) == 0
    out = capsys.readouterr().out
    assert "latency-weighted F1" in out
    assert "F0.5" in out


def test_evaluate_pan12_with_truth_and_curves(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toy = shared_data / "pan12-toy" / "test"
    code = run(
        [
            "evaluate",
            str(toy),
            "--format",
            "pan12",
            "--pan12-truth",
            str(toy),
            "--json",
            "--curves",
            str(tmp_path),
        ]
    )
    assert code == 0
    m = json.loads(capsys.readouterr().out)
    assert {"pan12_problem1", "pan12_problem2"} <= set(m)
    assert (tmp_path / "latency_curve.png").is_file()


def test_unlabelled_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "u.jsonl"
    src.write_text('{"id": "a", "messages": ["hi"]}\n')
    assert run(["evaluate", str(src)]) == 2
    assert "no label" in capsys.readouterr().err


def test_missing_truth_folder_exits_2(fixtures_dir: Path, tmp_path: Path) -> None:
    path = fixtures_dir / "detect" / "conversations.jsonl"
    assert run(["evaluate", str(path), "--pan12-truth", str(tmp_path / "none")]) == 2
