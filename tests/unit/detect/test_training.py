"""Training: a small model cross-validated on the dev data must beat a floor; training is
reproducible; bad training data is refused."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from groomwatch.conversation import Conversation, conversation_from_texts
from groomwatch.detect import Detector
from groomwatch.detect.model import TextHasher
from groomwatch.detect.scoring import UnitBatch, read_units
from groomwatch.detect.tactics import default_registry
from groomwatch.detect.tactics.base import TacticRegistry
from groomwatch.detect.training import (
    TrainConfig,
    _Design,
    _fit,
    _row_weights,
    cross_validate,
    target_score,
)
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


def _toy_design(config: TrainConfig) -> tuple[UnitBatch, _Design]:
    convs = _toy()
    # one longer conversation, so that conversations have different numbers of prefix rows
    convs.append(
        conversation_from_texts(
            "long", [f"what did you do on day {i} of the holiday" for i in range(12)], label=0
        )
    )
    batch = read_units(convs, TacticRegistry(), TextHasher(config.hashing), ())
    return batch, _Design(batch, config)


def test_conversation_weight_makes_every_conversation_weigh_the_same() -> None:
    plain = TrainConfig(conversation_weight=False)
    _, design = _toy_design(plain)
    per_conv = np.bincount(design.prefix_conv_arr)
    assert per_conv.max() > per_conv.min()  # the long conversation has more prefix rows
    w_plain = _row_weights(design, plain)
    assert np.allclose(w_plain, 1.0)
    w = _row_weights(design, TrainConfig(conversation_weight=True))
    sums = np.bincount(design.prefix_conv_arr, weights=w)
    assert np.allclose(sums, sums[0])
    assert w.sum() == pytest.approx(w_plain.sum())  # the total weight (so C's meaning) is kept


def test_early_weight_favours_short_prefixes() -> None:
    config = TrainConfig(conversation_weight=False, early_weight=2.0)
    _, design = _toy_design(config)
    w = _row_weights(design, config)
    assert np.allclose(w, 1.0 + 2.0 * (1.0 - design.share))
    assert np.all(w[design.is_full] == 1.0)
    rows = np.flatnonzero(design.prefix_conv_arr == design.prefix_conv_arr.max())
    assert np.all(np.diff(w[rows]) < 0)  # within a conversation, later prefixes weigh less


def test_everyday_weight_scales_only_the_generated_chats() -> None:
    config = TrainConfig(everyday_weight=0.25)
    batch, _ = _toy_design(config)
    n = len(batch.conv_start) - 1
    design = _Design(batch, config, n_given=n - 1)  # the last conversation counts as generated
    full = _row_weights(design, TrainConfig())
    w = _row_weights(design, config)
    generated = design.prefix_conv_arr == n - 1
    assert generated.any()
    assert np.allclose(w[generated], 0.25 * full[generated])
    assert np.allclose(w[~generated], full[~generated])


def test_max_df_drops_columns_found_in_most_conversations() -> None:
    config = TrainConfig(min_df=1, hashing=({"analyzer": "word_1_2", "n_features": 2**18},))
    batch, design = _toy_design(config)
    labels = np.array([1] * 6 + [0] * 7, dtype=np.int64)
    convs = np.arange(len(labels), dtype=np.int64)
    all_cols, _ = _fit(design, batch, labels, convs, config)
    kept, _ = _fit(design, batch, labels, convs, dataclasses.replace(config, max_df=0.5))
    ok = min(TextHasher(config.hashing).columns_of("ok"))  # in 12 of the 13 conversations
    assert ok in set(all_cols.tolist())
    assert ok not in set(kept.tolist())
    assert set(kept.tolist()) < set(all_cols.tolist())


def test_modified_huber_loss_trains_and_unknown_loss_is_refused() -> None:
    config = TrainConfig(folds=3, min_df=1, windows=(1,), loss="modified_huber")
    model, cv = cross_validate(_toy(), default_registry(), config)
    assert model.info["config"]["loss"] == "modified_huber"
    assert all(np.all(np.isfinite(d)) for d in cv.decisions)
    risky = cv.decisions[0][-1], cv.decisions[-1][-1]
    assert risky[0] > risky[1]  # a risky toy conversation scores above an ordinary one
    with pytest.raises(ValueError, match="unknown loss"):
        cross_validate(_toy(), TacticRegistry(), dataclasses.replace(config, loss="hinge"))


def test_target_score_is_the_mean_of_the_four_targets() -> None:
    m = {
        "whole": {"f1": 0.9},
        "prefix_10": {"f1": 0.5},
        "prefix_25": {"f1": 0.7},
        "prefix_50": {"f1": 0.0},
        "latency": {"f_latency": 0.8},
    }
    assert target_score(m) == pytest.approx(0.725)


def test_the_longest_ramp_near_the_best_target_score_is_chosen() -> None:
    config = TrainConfig(
        folds=3, min_df=1, windows=(1,), max_iter=300, ramp_tokens=(0.0, 5.0, 50.0, 500.0)
    )
    model, cv = cross_validate(_toy(), default_registry(), config)
    table = cv.metrics["cross_validation"]["ramp_candidates"]
    assert [r["ramp_tokens"] for r in table] == [0.0, 5.0, 50.0, 500.0]
    best = max(r["target_score"] for r in table)
    near = [r["ramp_tokens"] for r in table if r["target_score"] >= best - config.ramp_tolerance]
    assert model.fusion is not None
    assert model.fusion.ramp_tokens == max(near)
