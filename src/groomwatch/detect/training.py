"""Training and cross-validating the risk model (``groomwatch train``).

1. Every conversation is read into units (:mod:`groomwatch.detect.units`), each unit hashed and
   searched for tactic findings once.
2. Training rows are *prefixes* of the conversations, many lengths each (a fraction of the units
   and a few absolute lengths, denser over the first quarter), labelled with the conversation's
   label and weighted so that every conversation weighs the same, so that the model scores a
   conversation well after its first few messages as well as at its end.
3. Kept columns (document frequency >= ``min_df`` over whole training conversations), IDF and a
   logistic regression are fitted per fold of a stratified K-fold over *conversations* (all
   prefixes of a conversation are in the same fold); out-of-fold decisions after every unit give
   the cross-validated metrics, the Platt calibration and the alert policy: the lowest threshold
   that keeps the whole-conversation false-positive rate at or below ``max_fpr``, and the
   persistence window and minimum units with the best latency-weighted F1 at that threshold; the
   fusion with the tactic pattern (:mod:`groomwatch.detect.fusion`): its offset, and the evidence
   ramp chosen by the mean of the four target figures (:func:`target_score`).
4. The final model is fitted on all conversations with the same settings.

Everything is seeded; the same data and options give the same artifact.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from groomwatch.conversation import Conversation
from groomwatch.detect.everyday import CHECK_SETS, check_conversations, everyday_conversations
from groomwatch.detect.fusion import FusionConfig, logit, pattern_logits
from groomwatch.detect.metrics import binary_metrics, latency_weighted_f1, prefix_units
from groomwatch.detect.model import (
    DEFAULT_HASHING,
    FloatArray,
    IntArray,
    LinearRisk,
    RiskModel,
    TextHasher,
    column_blocks,
    tfidf_rows,
)
from groomwatch.detect.scoring import UnitBatch, read_units, score_units
from groomwatch.detect.tactics.base import TacticRegistry
from groomwatch.errors import InputError

Progress = Callable[[str, float], None]
"""``progress(step description, fraction done)``."""

PREFIX_FRACTIONS = (0.02, 0.04, 0.06, 0.08, 0.1, 0.13, 0.16, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7, 1.0)
PREFIX_UNITS = (1, 2, 3, 4, 5, 6, 8, 10, 12)
"""Training prefixes: denser over the first quarter of a conversation than over the rest, where
early warning is decided (cross-validated against sparser and denser schedules,
docs/research.md)."""
EVAL_FRACTIONS = (0.1, 0.25, 0.5)
EVERYDAY_SAMPLE = 300
EVERYDAY_SAMPLE_SEED = 1_000_003
"""The generated ordinary chats a trained model is checked on: a seed no training run uses."""


@dataclass(frozen=True)
class TrainConfig:
    folds: int = 5
    seed: int = 0
    C: float = 100.0
    min_df: int = 2
    max_fpr: float = 0.005
    windows: tuple[int, ...] = (1, 2, 3, 4, 6)
    min_units: tuple[int, ...] = (1, 3, 5)
    hashing: tuple[dict[str, Any], ...] = DEFAULT_HASHING
    prefix_fractions: tuple[float, ...] = PREFIX_FRACTIONS
    prefix_units: tuple[int, ...] = PREFIX_UNITS
    max_iter: int = 3000
    block_norm: bool = True
    """L2-normalise word and character n-grams separately (else one norm over both)."""
    full_weight: float = 1.0
    """Sample weight of a whole conversation relative to each of its shorter prefixes."""
    conversation_weight: bool = True
    """Weight the prefix rows so that every conversation weighs the same in the fit (short
    conversations have fewer distinct prefixes, so they otherwise count less)."""
    early_weight: float = 0.0
    """Extra weight of a prefix by how early it is: ``1 + early_weight * (1 - k / n)`` for the
    first ``k`` of ``n`` units, so that the fit favours what is seen first."""
    max_df: float = 1.0
    """Columns in more than this share of the training conversations are dropped."""
    loss: str = "logistic"
    """``logistic`` (L-BFGS logistic regression) or ``modified_huber`` (SGD, same features)."""
    l1_ratio: float = 0.0
    """Elastic-net mixing of the logistic regression (0: L2 only; > 0 uses the saga solver)."""
    ramp_tokens: tuple[float, ...] = (0.0, 10.0, 15.0, 25.0, 50.0, 100.0)
    """Candidate evidence ramps of the text model (tokens until its full weight; 0: none)."""
    ramp_tolerance: float = 0.005
    """The longest ramp whose :func:`target_score` is within this of the best is chosen: a
    little early-detection F1 on the corpus (whose segments are long) is traded for a text model
    that does not decide on a few short chat messages (docs/research.md)."""
    pattern_to_warn: float | None = 6.0
    """The pattern strength that reaches the warning threshold by itself
    (:attr:`FusionConfig.pattern_to_warn`): three of the heaviest tactics from one author (say
    secrecy, isolation and a meeting), or two of them and lighter ones or context
    (docs/research.md, round 5). ``None``: calibrate the offset on
    the pooled training findings instead (``max_pattern_fp``), as models did before."""
    sufficient_tactics: tuple[str, ...] = ("extortion",)
    """Tactics that make a pattern on their own (:attr:`FusionConfig.sufficient`)."""
    max_pattern_fp: int = 1
    """With ``pattern_to_warn = None``: negatives allowed to reach the threshold through the
    pooled tactic pattern alone."""
    pattern_min_tactics: int = 2
    """Distinct tactics an author needs for a pattern (:class:`FusionConfig.min_tactics`)."""
    anonymous_patterns: bool = False
    """Whether messages without an author make a pattern (:class:`FusionConfig`). The offset is
    always calibrated with them pooled as one author: on the authorless corpus that is the
    strictest reading (no single author of a negative segment can have more tactics than the
    whole segment)."""
    everyday_negatives: int = 200
    """Generated ordinary chats (:mod:`groomwatch.detect.everyday`) added to the training side
    of every fold and to the final fit as negatives; never evaluated on (the cross-validated
    figures are those of the given conversations alone)."""
    everyday_weight: float = 1.0
    """Sample weight of each generated ordinary chat relative to a given conversation (after
    ``conversation_weight``): below 1 they steer the fit less."""


@dataclass
class CrossValidation:
    """Out-of-fold decisions after every unit of every conversation."""

    labels: IntArray
    decisions: list[FloatArray]
    fold_of: IntArray
    metrics: dict[str, Any] = field(default_factory=dict)


def _prefix_lengths(n: int, config: TrainConfig) -> list[int]:
    ks = {prefix_units(n, f) for f in config.prefix_fractions}
    ks.update(k for k in config.prefix_units if k <= n)
    return sorted(k for k in ks if k >= 1)


class _Design:
    """Prefix rows of all conversations, over all hashed columns."""

    def __init__(self, batch: UnitBatch, config: TrainConfig, n_given: int | None = None) -> None:
        starts = batch.conv_start
        self.n_given = len(starts) - 1 if n_given is None else n_given
        """Conversations given to train on; those after them are generated ordinary chats."""
        rows: list[int] = []
        cols: list[int] = []
        self.prefix_conv: list[int] = []
        self.full_row: list[int] = []
        share: list[float] = []
        for c in range(len(starts) - 1):
            s, e = int(starts[c]), int(starts[c + 1])
            for k in _prefix_lengths(e - s, config):
                share.append(k / (e - s))
                r = len(self.prefix_conv)
                rows.extend([r] * k)
                cols.extend(range(s, s + k))
                self.prefix_conv.append(c)
            self.full_row.append(len(self.prefix_conv) - 1)
        p = sp.csr_matrix(
            (np.ones(len(rows)), (rows, cols)), shape=(len(self.prefix_conv), batch.n_units)
        )
        self.counts = sp.csr_matrix(p @ batch.counts)
        self.tactics = np.asarray(p @ batch.tactic_counts, dtype=np.float64)
        self.tokens = np.asarray(p @ batch.tokens, dtype=np.float64)
        self.prefix_conv_arr = np.array(self.prefix_conv, dtype=np.int64)
        self.is_full = np.zeros(len(self.prefix_conv), dtype=bool)
        self.is_full[self.full_row] = True
        self.share = np.array(share, dtype=np.float64)
        """The share of its conversation's units each prefix row holds."""


def _fit(
    design: _Design, batch: UnitBatch, labels: IntArray, convs: IntArray, config: TrainConfig
) -> tuple[IntArray, LinearRisk]:
    """Kept columns and weights fitted on the conversations ``convs``."""
    full = design.counts[np.array(design.full_row)[convs]]
    df = np.bincount(full.indices, minlength=design.counts.shape[1])
    keep = df >= config.min_df
    if config.max_df < 1.0:
        keep &= df <= config.max_df * len(convs)
    columns = np.flatnonzero(keep).astype(np.int64)
    idf = np.log((1.0 + len(convs)) / (1.0 + df[columns])) + 1.0
    n_blocks = len(config.hashing) if config.block_norm else 1
    block = (
        column_blocks(columns, config.hashing)
        if config.block_norm
        else np.zeros(len(columns), dtype=np.int64)
    )
    in_train = np.isin(design.prefix_conv_arr, convs)
    x_text = tfidf_rows(design.counts[in_train][:, columns], idf, block, n_blocks)
    x_other = np.hstack(
        [np.log1p(design.tactics[in_train]), np.log1p(design.tokens[in_train])[:, None]]
    )
    x = sp.hstack([x_text, sp.csr_matrix(x_other)], format="csr")
    y = labels[design.prefix_conv_arr[in_train]]
    weight = _row_weights(design, config)[in_train]
    coef, intercept = _linear_fit(x, y, weight, config)
    k, t = len(columns), design.tactics.shape[1]
    return columns, LinearRisk(
        block=block,
        n_blocks=n_blocks,
        idf=idf.astype(np.float64),
        coef_text=coef[:k],
        coef_tactic=coef[k : k + t],
        coef_length=float(coef[k + t]),
        intercept=intercept,
    )


def _row_weights(design: _Design, config: TrainConfig) -> FloatArray:
    """Sample weight of every prefix row (see :class:`TrainConfig`)."""
    weight = np.where(design.is_full, config.full_weight, 1.0).astype(np.float64)
    if config.early_weight:
        weight *= 1.0 + config.early_weight * (1.0 - design.share)
    if config.conversation_weight:
        per_conv = np.bincount(design.prefix_conv_arr, weights=weight)
        weight *= float(np.mean(per_conv)) / per_conv[design.prefix_conv_arr]
    if config.everyday_weight != 1.0:
        weight[design.prefix_conv_arr >= design.n_given] *= config.everyday_weight
    return weight


def _linear_fit(
    x: sp.csr_matrix, y: IntArray, weight: FloatArray, config: TrainConfig
) -> tuple[FloatArray, float]:
    """Coefficients and intercept of the linear model, balanced over the two classes."""
    if config.loss == "modified_huber":
        # alpha = 1 / (C n) is the SGD counterpart of the logistic regression's C.
        sgd = SGDClassifier(
            loss="modified_huber",
            alpha=1.0 / (config.C * x.shape[0]),
            class_weight="balanced",
            max_iter=config.max_iter,
            tol=1e-6,
            random_state=config.seed,
        )
        sgd.fit(x, y, sample_weight=weight)
        return sgd.coef_.ravel().astype(np.float64), float(sgd.intercept_[0])
    if config.loss != "logistic":
        raise ValueError(f"unknown loss {config.loss!r}")
    if config.l1_ratio > 0:
        clf = LogisticRegression(
            C=config.C,
            l1_ratio=config.l1_ratio,
            solver="saga",
            class_weight="balanced",
            max_iter=config.max_iter,
            random_state=config.seed,
        )
    else:
        clf = LogisticRegression(
            C=config.C, class_weight="balanced", max_iter=config.max_iter, random_state=config.seed
        )
    clf.fit(x, y, sample_weight=weight)
    return clf.coef_.ravel().astype(np.float64), float(clf.intercept_[0])


def _unit_decisions(
    batch: UnitBatch, convs: IntArray, columns: IntArray, linear: LinearRisk
) -> list[FloatArray]:
    """Running decisions after every unit of each of ``convs``."""
    starts = batch.conv_start
    idx = np.concatenate(
        [np.arange(starts[c], starts[c + 1]) for c in convs] or [np.zeros(0, dtype=np.int64)]
    ).astype(np.int64)
    lengths = np.array([starts[c + 1] - starts[c] for c in convs], dtype=np.int64)
    sub = UnitBatch(
        conv_start=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        unit_msg=batch.unit_msg[idx],
        counts=sp.csr_matrix(batch.counts[idx][:, columns]),
        tactic_counts=batch.tactic_counts[idx],
        tokens=batch.tokens[idx],
        findings=(),
        unit_findings=(),
    )
    dec = score_units(sub, linear).cumulative
    return [dec[sub.conv_start[i] : sub.conv_start[i + 1]] for i in range(len(convs))]


def rolling_max_min(values: FloatArray, window: int) -> float:
    """The highest value that ``window`` consecutive entries all reach (``-inf`` if too short)."""
    if len(values) < window:
        return -math.inf
    if window == 1:
        return float(values.max())
    view = np.lib.stride_tricks.sliding_window_view(values, window)
    return float(view.min(axis=1).max())


def first_alert_unit(
    values: FloatArray, threshold: float, window: int, min_units: int
) -> int | None:
    """Units seen (1-based) when the warning fires on running decisions or risks ``values``."""
    run = 0
    for i, v in enumerate(values.tolist()):
        run = run + 1 if v >= threshold else 0
        if run >= window and i + 1 >= min_units:
            return i + 1
    return None


def _sigmoid(z: FloatArray | float) -> FloatArray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64))))


def _risk_threshold(negatives: FloatArray, max_fpr: float) -> float:
    """:func:`_threshold_for` on risks, taken midway in log-odds (so it stays below 1)."""
    p = np.clip(negatives, 1e-15, 1.0 - 1e-15)
    return float(_sigmoid(_threshold_for(np.log(p / (1.0 - p)), max_fpr)))


def _threshold_for(negatives: FloatArray, max_fpr: float) -> float:
    """The lowest threshold keeping the share of ``negatives`` at or above it <= ``max_fpr``:
    midway between the highest negative allowed to be flagged and the next one."""
    if len(negatives) == 0:
        return 0.0
    allowed = math.floor(max_fpr * len(negatives) + 1e-9)
    ordered = np.sort(negatives)[::-1]
    if allowed >= len(ordered):
        return float(ordered[-1])
    above = ordered[allowed - 1] if allowed > 0 else ordered[allowed] + 1.0
    return float((ordered[allowed] + above) / 2.0)


def evaluate_decisions(
    labels: IntArray,
    decisions: Sequence[FloatArray],
    threshold: float,
    window: int,
    min_units: int = 1,
    fractions: Sequence[float] = EVAL_FRACTIONS,
) -> dict[str, Any]:
    """Whole-conversation, prefix and latency metrics of running decisions (or risks)."""
    y = labels.tolist()
    whole = [int(len(d) > 0 and d[-1] >= threshold) for d in decisions]
    out: dict[str, Any] = {"whole": binary_metrics(y, whole)}
    for f in fractions:
        pred = [int(len(d) > 0 and d[prefix_units(len(d), f) - 1] >= threshold) for d in decisions]
        out[f"prefix_{round(f * 100)}"] = binary_metrics(y, pred)
    delays = [first_alert_unit(d, threshold, window, min_units) for d in decisions]
    warned = [int(k is not None) for k in delays]
    out["latency"] = latency_weighted_f1(y, warned, delays)
    last = np.array([d[-1] if len(d) else -math.inf for d in decisions])
    if 0 < sum(y) < len(y):
        out["roc_auc"] = float(roc_auc_score(y, last))
        out["average_precision"] = float(average_precision_score(y, last))
    return out


def target_score(metrics: dict[str, Any]) -> float:
    """The mean of the issue's four target figures (whole-conversation F1, F1 after 10 % and
    after 25 % of the units, latency-weighted F1): what the ramp is chosen by, so that early
    detection counts as much as the whole-conversation figure."""
    return (
        float(metrics["whole"]["f1"])
        + float(metrics["prefix_10"]["f1"])
        + float(metrics["prefix_25"]["f1"])
        + float(metrics["latency"]["f_latency"])
    ) / 4.0


Candidate = tuple[float, float, float, int, int, dict[str, Any]]
"""``(ramp, offset, threshold, window, min_units, metrics)`` of one fusion candidate."""


def _oof_decisions(
    design: _Design,
    batch: UnitBatch,
    labels: IntArray,
    config: TrainConfig,
    say: Progress,
    extra: IntArray | None = None,
) -> tuple[list[FloatArray], IntArray]:
    """Out-of-fold running decisions after every unit, and the fold of each conversation.
    ``labels`` are those of the evaluated conversations; ``extra`` (conversations after them in
    ``batch``, label 0) join the training side of every fold."""
    skf = StratifiedKFold(n_splits=config.folds, shuffle=True, random_state=config.seed)
    decisions: list[FloatArray] = [np.zeros(0)] * len(labels)
    fold_of = np.zeros(len(labels), dtype=np.int64)
    more = np.zeros(0, dtype=np.int64) if extra is None else extra
    all_labels = np.concatenate([labels, np.zeros(len(more), dtype=np.int64)])
    for f, (tr, te) in enumerate(skf.split(np.zeros(len(labels)), labels)):
        say(f"fold {f + 1}/{config.folds}", (f + 0.1) / (config.folds + 1))
        train = np.concatenate([tr.astype(np.int64), more])
        columns, linear = _fit(design, batch, all_labels, train, config)
        for i, d in zip(
            te.tolist(), _unit_decisions(batch, te.astype(np.int64), columns, linear), strict=True
        ):
            decisions[i] = d
            fold_of[i] = f
    return decisions, fold_of


def _platt(
    decisions: Sequence[FloatArray], labels: IntArray, config: TrainConfig
) -> tuple[float, float]:
    """Platt scaling (slope, intercept) fitted on out-of-fold decisions at the training prefix
    lengths."""
    xs: list[float] = []
    ys: list[int] = []
    for i, d in enumerate(decisions):
        for k in _prefix_lengths(len(d), config):
            xs.append(float(d[k - 1]))
            ys.append(int(labels[i]))
    platt = LogisticRegression(C=1e6, max_iter=1000)
    platt.fit(np.array(xs)[:, None], np.array(ys))
    return float(platt.coef_[0, 0]), float(platt.intercept_[0])


def _choose_fusion(
    convs: Sequence[Conversation],
    batch: UnitBatch,
    labels: IntArray,
    text_logits: Sequence[FloatArray],
    prior: float,
    config: TrainConfig,
) -> tuple[Candidate, list[dict[str, Any]]]:
    """The fusion (groomwatch.detect.fusion) and alert policy chosen by cross-validation.

    For each candidate ramp: the text model's shrunk probability; the pattern offset at which a
    pattern of ``pattern_to_warn`` reaches the text-only threshold (or, without it, at which at
    most ``max_pattern_fp`` negatives reach it through their pooled pattern alone);
    the fused risk; its threshold (the lowest keeping the whole-conversation FPR <= ``max_fpr``;
    fused risks are >= the text's, so the fused threshold is >= the text-only one and the
    pattern-alone count can only fall); the persistence window and minimum units with the best
    latency-weighted F1 at that threshold. The longest ramp within ``ramp_tolerance`` of the best
    :func:`target_score` is chosen."""
    base = FusionConfig(
        prior=prior,
        offset=0.0,
        min_tactics=config.pattern_min_tactics,
        anonymous_patterns=config.anonymous_patterns,
        pattern_to_warn=config.pattern_to_warn,
        sufficient=config.sufficient_tactics if config.pattern_to_warn is not None else (),
    )
    pooled = dataclasses.replace(base, anonymous_patterns=True)
    cum_tokens: list[FloatArray] = []
    patterns: list[FloatArray] = []
    last_pooled: list[float] = []
    for c, conv in enumerate(convs):
        s0, e0 = int(batch.conv_start[c]), int(batch.conv_start[c + 1])
        cum_tokens.append(np.cumsum(batch.tokens[s0:e0]))
        authors = [conv.messages[int(m)].author for m in batch.unit_msg[s0:e0]]
        found = batch.unit_findings[s0:e0]
        g = pattern_logits(base, conv.participants, authors, found)
        patterns.append(np.array(g, dtype=np.float64))
        gp = pattern_logits(pooled, conv.participants, authors, found)
        last_pooled.append(gp[-1] if gp else -math.inf)
    ramp_table: list[dict[str, Any]] = []
    candidates: list[Candidate] = []
    last_g = np.array([g[-1] if len(g) else -math.inf for g in patterns])
    # The offset is calibrated on the pooled patterns (see TrainConfig.anonymous_patterns).
    cal_g = np.array(last_pooled, dtype=np.float64)
    for ramp in config.ramp_tokens:
        lang = [
            _sigmoid(prior + (np.minimum(1.0, t / ramp) if ramp > 0 else 1.0) * (z - prior))
            for z, t in zip(text_logits, cum_tokens, strict=True)
        ]
        t_text = _risk_threshold(np.array([v[-1] for v in lang])[labels == 0], config.max_fpr)
        z_t = logit(t_text)
        if config.pattern_to_warn is not None:
            offset = z_t - config.pattern_to_warn
        else:
            allowed = config.max_pattern_fp
            neg_g = np.sort(cal_g[labels == 0])[::-1]
            nxt = float(neg_g[allowed]) if allowed < len(neg_g) else -math.inf
            worst = 2.0 * max(base.severity.values())
            offset = z_t - nxt - 1e-6 if math.isfinite(nxt) else z_t - worst
        fused = [
            1.0 - (1.0 - v) * (1.0 - _sigmoid(offset + g))
            for v, g in zip(lang, patterns, strict=True)
        ]
        t_f = _risk_threshold(np.array([v[-1] for v in fused])[labels == 0], config.max_fpr)
        best: tuple[float, int, int, dict[str, Any]] | None = None
        for w in config.windows:
            for mm in config.min_units:
                m = evaluate_decisions(labels, fused, t_f, w, mm)
                key = m["latency"]["f_latency"]
                if best is None or key > best[0] + 1e-12:
                    best = (key, w, mm, m)
        assert best is not None
        _, w_k, mm_k, m_k = best
        pattern_flags = _sigmoid(offset + last_g) >= t_f
        pat_fp = int(pattern_flags[labels == 0].sum())
        lang_fp = sum(int(v[-1] >= t_f) for v, y in zip(lang, labels, strict=True) if y == 0)
        m_k["fusion"] = {
            "ramp_tokens": ramp,
            "offset": offset,
            "negatives_flagged_by_pattern_alone": pat_fp,
            "negatives_flagged_by_language_alone": lang_fp,
            "positives_flagged_by_pattern_alone": int(pattern_flags[labels == 1].sum()),
            # Were each segment's authorless findings one author's (the strictest reading):
            "pooled_negatives_reaching_threshold": int(
                (_sigmoid(offset + cal_g) >= t_f)[labels == 0].sum()
            ),
        }
        ramp_table.append(
            {
                "ramp_tokens": ramp,
                "threshold": round(t_f, 6),
                "window": w_k,
                "min_units": mm_k,
                "f1": m_k["whole"]["f1"],
                "fpr": m_k["whole"]["fpr"],
                "f1_10": m_k["prefix_10"]["f1"],
                "f1_25": m_k["prefix_25"]["f1"],
                "f1_50": m_k["prefix_50"]["f1"],
                "f_latency": m_k["latency"]["f_latency"],
                "pattern_alone_fp": pat_fp,
                "target_score": target_score(m_k),
            }
        )
        candidates.append((ramp, offset, t_f, w_k, mm_k, m_k))
    chosen: Candidate | None = None
    top = max(target_score(c[5]) for c in candidates)
    for cand in candidates:
        near_top = target_score(cand[5]) >= top - config.ramp_tolerance - 1e-12
        if near_top and (chosen is None or cand[0] > chosen[0]):
            chosen = cand
    assert chosen is not None
    return chosen, ramp_table


def synthetic_checks(model: RiskModel, registry: TacticRegistry) -> dict[str, Any]:
    """Warnings of ``model`` (with its own policy) on the hand-written check sets and on
    generated ordinary chats of a seed no training run uses (:mod:`groomwatch.detect.everyday`):
    false warnings on ordinary chat, and the share of modern grooming patterns warned about."""
    from groomwatch.detect.detector import Detector

    detector = Detector(model, registry, fingerprint="training")
    sets: dict[str, Sequence[Conversation]] = {
        name: check_conversations(name) for name in CHECK_SETS
    }
    sets["ordinary_generated"] = everyday_conversations(EVERYDAY_SAMPLE, EVERYDAY_SAMPLE_SEED)
    out: dict[str, Any] = {}
    for name, convs in sets.items():
        found = list(detector.assess_many(convs))
        warned = [a for a in found if a.first_alert is not None]
        out[name] = {
            "conversations": len(found),
            "warned": len(warned),
            "flagged": sum(a.flagged for a in found),
            "warned_ids": [a.id for a in warned] if name in CHECK_SETS else [],
            "first_alerts": [a.first_alert for a in warned] if name == "grooming" else [],
        }
    return out


def cross_validate(
    convs: Sequence[Conversation],
    registry: TacticRegistry,
    config: TrainConfig = TrainConfig(),
    progress: Progress | None = None,
) -> tuple[RiskModel, CrossValidation]:
    """Cross-validate, choose calibration and policy, fit the final model on everything.

    BLAS runs single-threaded meanwhile: L-BFGS on a shared machine is many times slower with
    competing BLAS threads."""
    with threadpool_limits(1):
        return _cross_validate(convs, registry, config, progress)


def _cross_validate(
    convs: Sequence[Conversation],
    registry: TacticRegistry,
    config: TrainConfig,
    progress: Progress | None,
) -> tuple[RiskModel, CrossValidation]:
    say = progress or (lambda _step, _frac: None)
    labels = np.array([c.label if c.label is not None else -1 for c in convs], dtype=np.int64)
    bad = [c.id for c in convs if c.label not in (0, 1)]
    if bad:
        raise InputError(
            f"training needs a label 0 or 1 on every conversation; {bad[0]!r} has none"
        )
    if len(set(labels.tolist())) < 2 or min(np.bincount(labels)) < config.folds:
        raise InputError(f"training needs at least {config.folds} conversations of each label")
    started = time.perf_counter()
    say("reading units and tactics", 0.0)
    hasher = TextHasher(config.hashing)
    everyday = everyday_conversations(config.everyday_negatives, config.seed)
    batch = read_units([*convs, *everyday], registry, hasher, registry.names)
    design = _Design(batch, config, n_given=len(convs))
    extra = np.arange(len(convs), len(convs) + len(everyday), dtype=np.int64)
    decisions, fold_of = _oof_decisions(design, batch, labels, config, say, extra)
    say("calibration and policy", config.folds / (config.folds + 1))
    slope, icept = _platt(decisions, labels, config)
    prior = math.log(float(labels.sum()) / float(len(labels) - labels.sum()))
    text_logits = [slope * d + icept for d in decisions]
    chosen, ramp_table = _choose_fusion(convs, batch, labels, text_logits, prior, config)
    ramp_k, offset, threshold, window, min_units, metrics = chosen
    metrics["ramp_candidates"] = ramp_table
    fusion = FusionConfig(
        prior=prior,
        offset=offset,
        ramp_tokens=ramp_k,
        min_tactics=config.pattern_min_tactics,
        anonymous_patterns=config.anonymous_patterns,
        pattern_to_warn=config.pattern_to_warn,
        sufficient=config.sufficient_tactics if config.pattern_to_warn is not None else (),
    )
    say("fitting the final model", config.folds / (config.folds + 1) + 0.01)
    all_labels = np.concatenate([labels, np.zeros(len(everyday), dtype=np.int64)])
    columns, linear = _fit(design, batch, all_labels, np.arange(len(all_labels)), config)
    policy = {"threshold": round(threshold, 6), "window": window, "min_messages": min_units}
    metrics = {
        "cross_validation": {
            "folds": config.folds,
            "seed": config.seed,
            "conversations": len(convs),
            "positives": int(labels.sum()),
            "units": batch.n_units,
            **metrics,
        }
    }
    info = {
        "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "train_seconds": round(time.perf_counter() - started, 1),
        "config": {
            "C": config.C,
            "loss": config.loss,
            "l1_ratio": config.l1_ratio,
            "full_weight": config.full_weight,
            "conversation_weight": config.conversation_weight,
            "early_weight": config.early_weight,
            "max_df": config.max_df,
            "block_norm": config.block_norm,
            "min_df": config.min_df,
            "max_fpr": config.max_fpr,
            "windows": list(config.windows),
            "min_units": list(config.min_units),
            "prefix_fractions": list(config.prefix_fractions),
            "prefix_units": list(config.prefix_units),
            "ramp_tokens": list(config.ramp_tokens),
            "ramp_tolerance": config.ramp_tolerance,
            "max_pattern_fp": config.max_pattern_fp,
            "pattern_to_warn": config.pattern_to_warn,
            "sufficient_tactics": list(config.sufficient_tactics),
            "pattern_min_tactics": config.pattern_min_tactics,
            "anonymous_patterns": config.anonymous_patterns,
            "everyday_negatives": config.everyday_negatives,
            "everyday_weight": config.everyday_weight,
        },
    }
    model = RiskModel(
        hasher_config=tuple(config.hashing),
        columns=columns,
        linear=linear,
        tactic_names=registry.names,
        calib_slope=slope,
        calib_intercept=icept,
        threshold=round(threshold, 6),
        policy=policy,
        metrics=metrics,
        info=info,
        fusion=fusion,
    )
    model.metrics["synthetic_checks"] = synthetic_checks(model, registry)
    say("done", 1.0)
    return model, CrossValidation(
        labels=labels, decisions=decisions, fold_of=fold_of, metrics=metrics
    )
