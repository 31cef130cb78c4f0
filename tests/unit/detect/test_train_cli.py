"""``groomwatch train``: writes a loadable model with its card; bad data exits 2."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from groomwatch.cli import main
from groomwatch.detect import Detector

RISKY = [
    "how old are you, keep this our secret",
    "don't tell your parents, i'll buy you a gift card",
    "let's meet after school, delete this chat",
    "you are so mature, add me on another app",
    "send me a photo of you, it's our secret",
    "i can pick you up, don't tell anyone",
]
ORDINARY = [
    "did you finish the homework for monday",
    "practice starts at five, bring the ball",
    "the bus was late again this morning",
    "what game are you playing tonight",
    "my sister made pancakes for breakfast",
    "see you at the library after lunch",
]


def run(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _csv(path: Path, rows: list[tuple[str, int]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["segment", "label"])
        w.writerows(rows)
    return path


def test_train_writes_model_and_card(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _csv(tmp_path / "d.csv", [(t, 1) for t in RISKY] + [(t, 0) for t in ORDINARY])
    out = tmp_path / "model"
    assert run(["train", "--data", str(data), "--output", str(out), "--folds", "3"]) == 0
    assert "model written" in capsys.readouterr().out
    card = (out / "MODEL_CARD.md").read_text()
    assert "Cross-validated figures" in card
    assert "adult decoys" in card
    meta = json.loads((out / "model.json").read_text())
    assert meta["metrics"]["cross_validation"]["folds"] == 3
    # the training settings that shaped the model are recorded with it, and the card shows how
    # the ramp was chosen (the mean of the four target figures of every candidate)
    assert meta["info"]["config"]["conversation_weight"] is True
    assert meta["info"]["config"]["loss"] == "logistic"
    candidates = meta["metrics"]["cross_validation"]["ramp_candidates"]
    assert all(0.0 <= r["target_score"] <= 1.0 for r in candidates)
    assert "mean of the four targets" in card
    assert "word 1-2-gram and `char_wb` 3-4-gram" in card
    det = Detector.load(out)
    assert det.model.tactic_names  # trained with the tactics


def test_train_records_the_weight_of_generated_chats(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _csv(tmp_path / "d.csv", [(t, 1) for t in RISKY] + [(t, 0) for t in ORDINARY])
    out = tmp_path / "model"
    args = ["train", "--data", str(data), "--output", str(out), "--folds", "3"]
    assert run([*args, "--everyday-negatives", "20", "--everyday-weight", "0.25"]) == 0
    config = json.loads((out / "model.json").read_text())["info"]["config"]
    assert (config["everyday_negatives"], config["everyday_weight"]) == (20, 0.25)
    capsys.readouterr()
    assert run([*args, "--everyday-weight", "-1"]) == 2  # a usage error, naming the option
    assert "--everyday-weight" in capsys.readouterr().err


def test_train_refuses_unlabelled_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text('{"id": "a", "messages": ["hi"]}\n')
    assert run(["train", "--data", str(data), "--output", str(tmp_path / "m")]) == 2
    assert "label" in capsys.readouterr().err
    assert run(["train", "--data", str(tmp_path / "none.csv"), "--output", str(tmp_path)]) == 2
