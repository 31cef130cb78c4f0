"""Evaluation end to end: labelled synthetic conversations, PAN 2012 toy corpus with truth."""

from __future__ import annotations

from pathlib import Path

import pytest

from groomwatch.conversation import Conversation
from groomwatch.detect import AlertPolicy, Detector
from groomwatch.detect.evaluation import Pan12Truth, evaluate, summary_rows, write_curves
from groomwatch.errors import InputError
from groomwatch.formats import read_conversations


def test_evaluate_counts_and_keys(detector: Detector, synthetic: list[Conversation]) -> None:
    labelled = [c for c in synthetic if c.messages]
    result = evaluate(detector, labelled, AlertPolicy(threshold=0.0))
    m = result.metrics
    assert m["conversations"] == len(labelled)
    assert m["positives"] == sum(c.label == 1 for c in labelled)
    # threshold 0: everything flagged and warned at the first unit
    assert m["whole"]["recall"] == 1.0
    assert m["whole"]["fpr"] == 1.0
    assert m["latency"]["speed"] == 1.0
    assert m["latency"]["median_delay"] == 1.0
    assert {"prefix_10", "prefix_25", "prefix_50", "roc_auc"} <= set(m)
    names = [name for name, _ in summary_rows(m)]
    assert "latency-weighted F1" in names


def test_unlabelled_input_is_refused(detector: Detector) -> None:
    with pytest.raises(InputError, match="no label"):
        evaluate(detector, [Conversation(id="x")])


def test_pan12_toy_with_ground_truth(detector: Detector, shared_data: Path, tmp_path: Path) -> None:
    test_dir = shared_data / "pan12-toy" / "test"
    truth = Pan12Truth.load(test_dir)
    assert truth.predators
    assert truth.lines
    convs = list(read_conversations(test_dir, "pan12"))
    result = evaluate(detector, convs, AlertPolicy(threshold=0.0), truth)
    m = result.metrics
    assert m["positives"] == sum(any(a in truth.predators for a in c.authors) for c in convs)
    p1, p2 = m["pan12_problem1"], m["pan12_problem2"]
    assert p1["true"] == len(truth.predators)
    assert 0.0 <= p1["f0.5"] <= 1.0
    assert p2["true"] == len(truth.lines or ())
    # flagging everything names one suspect per conversation with authors
    assert p1["predicted"] == len([c for c in convs if c.authors])
    curves = write_curves(result, tmp_path / "curves")
    assert {p.name for p in curves} == {"pr_curve.png", "latency_curve.png"}
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in curves)


def test_bad_ground_truth_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="groundtruth-problem1"):
        Pan12Truth.load(tmp_path)
    (tmp_path / "x-groundtruth-problem1.txt").write_text("a\n")
    (tmp_path / "x-groundtruth-problem2.txt").write_text("conv\tnotanumber\n")
    with pytest.raises(InputError, match="line 1"):
        Pan12Truth.load(tmp_path)


def test_pan12_toy_attribution_with_the_shipped_policy(
    detector: Detector, shared_data: Path
) -> None:
    """The suspect of each warned conversation of the toy test excerpt, with the shipped model
    and policy: 5 of the 6 named are the truth's predators (before the message risk counted for
    the victim, 3 of 6; see attribution.RISK_POINTS_TO_VICTIM)."""
    test_dir = shared_data / "pan12-toy" / "test"
    truth = Pan12Truth.load(test_dir)
    convs = list(read_conversations(test_dir, "pan12"))
    p1 = evaluate(detector, convs, None, truth).metrics["pan12_problem1"]
    assert p1["recall"] == 1.0
    assert p1["precision"] >= 0.8


def test_training_predators_list_is_problem1_truth(shared_data: Path) -> None:
    truth = Pan12Truth.load(shared_data / "pan12-toy" / "train")
    listed = (
        shared_data
        / "pan12-toy"
        / "train"
        / "pan12-sexual-predator-identification-training-corpus-predators-2012-05-01.txt"
    ).read_text()
    assert truth.predators == frozenset(listed.split())
    assert truth.lines is None
