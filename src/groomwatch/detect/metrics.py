"""Evaluation metrics: classification, early detection (Vogt et al. 2021) and PAN 2012.

- precision, recall, F1, F0.5 and the false-positive rate of binary decisions (scikit-learn);
- latency-weighted F1 (Vogt, Leser & Akbik, "Early Detection of Sexual Predators in Chats",
  ACL 2021, after Sadeque et al. 2018): a warning raised after ``k`` messages costs
  ``penalty(k) = -1 + 2 / (1 + exp(-p (k - 1)))`` with ``p = ln 3 / 89`` (so ``penalty(1) = 0``
  and ``penalty(90) = 0.5``); ``speed = 1 - median penalty`` over the true positives that were
  warned about; ``F_latency = F1 x speed``;
- PAN 2012 problem 1 (predator author ids: precision, recall, F1, F0.5) and problem 2 (predator
  lines as ``(conversation, line)`` pairs: precision, recall, F3).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, fbeta_score, precision_recall_fscore_support

LATENCY_P = math.log(3) / 89


def binary_metrics(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, float]:
    """Precision, recall, F1, F0.5, FPR and the confusion counts of binary decisions."""
    yt = np.asarray(y_true, dtype=int)
    yp = np.asarray(y_pred, dtype=int)
    p, r, f1, _ = precision_recall_fscore_support(yt, yp, average="binary", zero_division=0.0)
    f05 = fbeta_score(yt, yp, beta=0.5, zero_division=0.0)
    tn, fp, fn, tp = confusion_matrix(yt, yp, labels=[0, 1]).ravel()
    negatives = tn + fp
    return {
        "precision": float(p),
        "recall": float(r),
        "f1": float(f1),
        "f0.5": float(f05),
        "fpr": float(fp / negatives) if negatives else 0.0,
        "tp": int(tp),
        "fp": int(fp),
        "fn": int(fn),
        "tn": int(tn),
    }


def latency_penalty(k: int | float, p: float = LATENCY_P) -> float:
    """Vogt et al.'s penalty of a warning raised after ``k`` messages (``k >= 1``)."""
    return -1.0 + 2.0 / (1.0 + math.exp(-p * (k - 1)))


def speed(delays: Iterable[int | float], p: float = LATENCY_P) -> float:
    """``1 - median penalty`` of the delays (messages seen when the warning fired) of the true
    positives that were warned about; 0 when there are none."""
    penalties = [latency_penalty(k, p) for k in delays]
    if not penalties:
        return 0.0
    return 1.0 - float(np.median(penalties))


def latency_weighted_f1(
    y_true: Sequence[int], warned: Sequence[int], delays: Sequence[int | None]
) -> dict[str, float]:
    """F1 of the warnings, speed, and their product ``F_latency``. ``delays[i]`` is the number of
    messages seen when the warning on conversation ``i`` fired (``None`` when it never did)."""
    m = binary_metrics(y_true, warned)
    tp_delays = [
        d for t, w, d in zip(y_true, warned, delays, strict=True) if t == 1 and w and d is not None
    ]
    s = speed(tp_delays)
    return {
        "f1": m["f1"],
        "speed": s,
        "f_latency": m["f1"] * s,
        "median_delay": float(np.median(tp_delays)) if tp_delays else float("nan"),
        "fpr": m["fpr"],
    }


def set_metrics(predicted: Iterable[Any], truth: Iterable[Any], beta: float) -> dict[str, float]:
    """Precision, recall, F1 and F-beta of a predicted set against a true set (PAN 2012)."""
    pred, true = set(predicted), set(truth)
    tp = len(pred & true)
    precision = tp / len(pred) if pred else 0.0
    recall = tp / len(true) if true else 0.0

    def f(b: float) -> float:
        den = b * b * precision + recall
        return (1 + b * b) * precision * recall / den if den else 0.0

    return {
        "precision": precision,
        "recall": recall,
        "f1": f(1.0),
        f"f{beta:g}": f(beta),
        "predicted": float(len(pred)),
        "true": float(len(true)),
    }


def pan12_problem1(
    predicted_authors: Iterable[str], true_authors: Iterable[str]
) -> dict[str, float]:
    """PAN 2012 problem 1: predator identification over author ids (F0.5 was the ranking)."""
    return set_metrics(predicted_authors, true_authors, beta=0.5)


def pan12_problem2(
    predicted_lines: Iterable[tuple[str, int]], true_lines: Iterable[tuple[str, int]]
) -> dict[str, float]:
    """PAN 2012 problem 2: predator lines as ``(conversation id, line)`` (F3 was the ranking)."""
    return set_metrics(predicted_lines, true_lines, beta=3.0)


def prefix_units(n_units: int, fraction: float) -> int:
    """Units in "the first ``fraction`` of the messages": ``ceil(fraction x n)``, at least 1."""
    if n_units <= 0:
        return 0
    return max(1, min(n_units, math.ceil(fraction * n_units - 1e-9)))
