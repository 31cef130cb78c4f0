"""Training: a small model cross-validated on the dev data must beat a floor; training is
reproducible; bad training data is refused."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from groomwatch.conversation import Conversation, conversation_from_texts
from groomwatch.detect import Detector
from groomwatch.detect.tactics import default_registry
from groomwatch.detect.tactics.base import TacticRegistry
from groomwatch.detect.training import TrainConfig, cross_validate
from groomwatch.errors import InputError

SMALL = TrainConfig(
    folds=3,
    hashing=({"analyzer": "word_1_2", "n_features": 2**18},),
    prefix_fractions=(0.1, 0.25, 0.5, 1.0),
    prefix_units=(2,),
    windows=(1, 2),
    max_iter=500,
)


def _dev(shared_data: Path) -> list[Conversation]:
    with (shared_data / "vtpan-segments-dev.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [
        conversation_from_texts(f"dev-{i}", [r["segment"]], label=int(r["label"]))
        for i, r in enumerate(rows)
    ]


@pytest.mark.slow
def test_cross_validated_score_beats_floor(shared_data: Path, tmp_path: Path) -> None:
    convs = _dev(shared_data)
    model, cv = cross_validate(convs, TacticRegistry(), SMALL)
    m = cv.metrics["cross_validation"]
    # Floors well under what this small configuration measures (see docs/research.md).
    assert m["roc_auc"] >= 0.97
    assert m["whole"]["f1"] >= 0.80
    assert m["whole"]["fpr"] <= 0.01
    assert m["prefix_25"]["f1"] >= 0.60
    assert m["latency"]["f_latency"] >= 0.75
    assert len(cv.decisions) == len(convs)
    # The artifact it writes scores like the cross-validated model expects.
    model.save(tmp_path / "m")
    det = Detector.load(tmp_path / "m")
    a = det.assess(convs[0])
    assert 0.0 <= a.risk <= 1.0


def _toy() -> list[Conversation]:
    risky = [
        "how old are you, keep this our secret",
        "don't tell your parents, i'll buy you a gift card",
        "let's meet after school, delete this chat",
        "you are so mature, add me on another app",
        "send me a photo of you, it's our secret",
        "i can pick you up, don't tell anyone",
    ]
    ordinary = [
        "did you finish the homework for monday",
        "practice starts at five, bring the ball",
        "the bus was late again this morning",
        "what game are you playing tonight",
        "my sister made pancakes for breakfast",
        "see you at the library after lunch",
    ]
    convs = [conversation_from_texts(f"r{i}", [t, "ok"], label=1) for i, t in enumerate(risky)]
    convs += [conversation_from_texts(f"o{i}", [t, "ok"], label=0) for i, t in enumerate(ordinary)]
    return convs


def test_training_is_reproducible_and_uses_tactics() -> None:
    config = TrainConfig(folds=3, min_df=1, windows=(1,), max_iter=300)
    registry = default_registry()
    a, cv_a = cross_validate(_toy(), registry, config)
    b, cv_b = cross_validate(_toy(), registry, config)
    assert np.array_equal(a.columns, b.columns)
    assert np.array_equal(a.linear.coef_text, b.linear.coef_text)
    assert a.policy == b.policy
    assert a.tactic_names == registry.names
    assert all(np.array_equal(x, y) for x, y in zip(cv_a.decisions, cv_b.decisions, strict=True))


def test_training_refuses_unlabelled_or_one_class_data() -> None:
    convs = _toy()
    unlabelled = [*convs, Conversation(id="u")]
    with pytest.raises(InputError, match="label"):
        cross_validate(unlabelled, TacticRegistry(), TrainConfig(folds=3))
    with pytest.raises(InputError, match="each label"):
        cross_validate([c for c in convs if c.label == 0], TacticRegistry(), TrainConfig(folds=3))
