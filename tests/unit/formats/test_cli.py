"""``groomwatch inspect``, ``convert`` and ``verify-pan12``: output, exit codes, messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from groomwatch.cli import main
from groomwatch.formats import read_conversations

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_inspect_json_on_a_folder(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["inspect", str(EXAMPLES), "--json"], capsys)
    assert code == 0
    summary = json.loads(out)
    assert summary["conversations"] == 7
    assert summary["messages"] == 75
    assert summary["time_span"]["first"] == "2024-03-11T18:20:00"
    assert summary["labels"] == {"1": 2, "0": 2, "unknown": 3}
    assert summary["system_lines"] == 2
    assert len(summary["files"]) == 3


def test_inspect_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["inspect", str(EXAMPLES / "whatsapp-ordinary.txt")], capsys)
    assert code == 0
    assert "conversations" in out
    assert "2024-09-13T15:41:00 to 2024-09-14T17:06:00" in out


def test_inspect_pan12(capsys: pytest.CaptureFixture[str], shared_data: Path) -> None:
    code, out, _ = run(["inspect", str(shared_data / "pan12-toy" / "train"), "--json"], capsys)
    assert code == 0
    summary = json.loads(out)
    assert (summary["conversations"], summary["messages"]) == (17, 871)
    assert summary["labels"] == {"0": 14, "1": 3}
    assert summary["time_span"]["times_of_day_only"] is True


def test_convert_whatsapp_to_jsonl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "chat.jsonl"
    code, _, err = run(
        ["convert", str(EXAMPLES / "whatsapp-grooming-pattern.txt"), str(out)], capsys
    )
    assert code == 0
    assert "wrote 1 conversation(s)" in err
    assert "1 system line(s) dropped" in err
    [conv] = read_conversations(out)
    assert not any("end-to-end" in m.text for m in conv.messages)
    assert conv.messages[0].author == "Alex"
    assert [p.id for p in conv.participants] == ["Alex", "Sam"]


def test_convert_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["convert", str(EXAMPLES / "conversations.jsonl"), "-"], capsys)
    assert code == 0
    assert [json.loads(line)["id"] for line in out.splitlines()][:2] == [
        "ex-grooming-1",
        "ex-ordinary-1",
    ]


def test_convert_with_csv_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.csv"
    src.write_text("Wer;Nachricht;Chat\na;hallo;k1\nb;hi;k1\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code, _, err = run(
        ["convert", str(src), str(out), "--text-column", "Nachricht", "--author-column", "wer",
         "--conversation-column", "chat", "--delimiter", ";"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    [conv] = read_conversations(out)
    assert (conv.id, [m.author for m in conv.messages]) == ("k1", ["a", "b"])


def test_bad_record_exit_2_and_no_partial_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "a"}\n{"id": "b", "label": 7}\n{"id": "c"}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code, _, err = run(["convert", str(src), str(out)], capsys)
    assert code == 2
    assert f"{src}, line 2, field label: must be 0, 1 or null" in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [src]  # no temporary file left behind
    code, _, err = run(["convert", str(src), str(out), "--skip-invalid"], capsys)
    assert code == 0
    assert f"skipped: {src}, line 2: label: must be 0, 1 or null" in err
    assert "skipped 1 invalid record(s)" in err
    assert [c.id for c in read_conversations(out)] == ["a", "c"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["inspect", "/nonexistent.txt"], "/nonexistent.txt: no such file or folder"),
        (["inspect", "x", "--format", "xml"], "unknown format 'xml'"),
        (["inspect", "x", "--date-order", "dym"], "--date-order:"),
        (["convert", "x", "out.html"], "out.html: cannot write .html"),
    ],
)
def test_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(argv, capsys)
    assert code == 2
    assert message in err


def test_verify_pan12_reports_mismatch(
    capsys: pytest.CaptureFixture[str], shared_data: Path
) -> None:
    code, out, _ = run(["verify-pan12", str(shared_data / "pan12-toy"), "--json"], capsys)
    assert code == 1
    results = json.loads(out)
    assert len(results) == 4
    assert not any(r["ok"] for r in results)


def test_real_process_exit_code_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"id": "a", "messages": [{"text": 5}]}\n')
    proc = subprocess.run(
        [sys.executable, "-c", "from groomwatch.cli import main; main()", "inspect", str(bad)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"{bad}, line 1, field messages[0].text: must be a string" in proc.stderr
