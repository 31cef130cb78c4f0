"""Evaluating a detector on labelled conversations (``groomwatch evaluate``).

"The first k % of the messages" is counted in units (:mod:`groomwatch.detect.units`): a chat
message is one unit, and a long text such as a corpus segment counts one unit per 8 tokens. A
conversation is flagged at a prefix when the risk after the prefix's last unit is at or above the
policy's threshold. The latency of a warning is the number of units seen when it fired. With PAN
2012 ground truth, conversations are labelled positive when one of their authors is a listed
predator, problem 1 is scored on the suspects of flagged conversations and problem 2 on the
``(conversation, line)`` of their grooming messages.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from groomwatch.conversation import Conversation
from groomwatch.detect.detector import Detector
from groomwatch.detect.metrics import (
    binary_metrics,
    latency_weighted_f1,
    pan12_problem1,
    pan12_problem2,
    prefix_units,
)
from groomwatch.detect.policy import AlertPolicy
from groomwatch.errors import InputError

FRACTIONS = (0.1, 0.25, 0.5)
PROBLEM1_FILE = "groundtruth-problem1"
PROBLEM2_FILE = "groundtruth-problem2"
PREDATORS_FILE = "predators"


@dataclass(frozen=True)
class Pan12Truth:
    """PAN 2012 ground truth: predator author ids and predator lines."""

    predators: frozenset[str]
    lines: frozenset[tuple[str, int]] | None

    @classmethod
    def load(cls, directory: Path) -> Pan12Truth:
        """Read ``*groundtruth-problem1*.txt`` (one author id a line; in a training folder,
        the training corpus's ``*predators*.txt`` list, which has the same form) and, if
        present, ``*groundtruth-problem2*.txt`` (``conversation-id<TAB>line``) from
        ``directory``."""
        if not directory.is_dir():
            raise InputError(f"{directory}: not a folder with PAN 2012 ground truth")
        p1 = sorted(directory.glob(f"*{PROBLEM1_FILE}*")) or sorted(
            directory.glob(f"*{PREDATORS_FILE}*.txt")
        )
        if not p1:
            raise InputError(
                f"{directory}: no *{PROBLEM1_FILE}* file (nor a training *{PREDATORS_FILE}* list)"
            )
        predators = frozenset(
            line.strip() for line in p1[0].read_text(encoding="utf-8").splitlines() if line.strip()
        )
        lines: set[tuple[str, int]] | None = None
        p2 = sorted(directory.glob(f"*{PROBLEM2_FILE}*"))
        if p2:
            lines = set()
            for n, raw in enumerate(p2[0].read_text(encoding="utf-8").splitlines(), 1):
                if not raw.strip():
                    continue
                parts = raw.split()
                if len(parts) != 2 or not parts[1].isdigit():
                    raise InputError(
                        f"{p2[0]}, line {n}: expected 'conversation-id<TAB>line number'"
                    )
                lines.add((parts[0], int(parts[1])))
        return cls(predators, frozenset(lines) if lines is not None else None)


@dataclass
class Evaluation:
    """Metrics and the per-conversation figures behind the curves."""

    metrics: dict[str, Any]
    labels: list[int] = field(default_factory=list)
    risks: list[float] = field(default_factory=list)
    delays: list[int | None] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return self.metrics


def evaluate(
    detector: Detector,
    conversations: Iterable[Conversation],
    policy: AlertPolicy | None = None,
    truth: Pan12Truth | None = None,
    progress: Callable[[int], None] | None = None,
) -> Evaluation:
    """Score labelled conversations and compute every metric of the module docstring."""
    pol = policy or detector.default_policy
    labels: list[int] = []
    risks: list[float] = []
    delays: list[int | None] = []
    prefix_flags: dict[float, list[int]] = {f: [] for f in FRACTIONS}
    suspects: set[str] = set()
    lines: set[tuple[str, int]] = set()
    n_units = 0
    labelled = (_label(c, truth) for c in conversations)
    for (assessment, trace), conv in _with_conv(detector, labelled, pol):
        labels.append(int(conv.label or 0))
        risks.append(assessment.risk)
        delays.append(trace.alert_unit)
        u = len(trace.unit_risks)
        n_units += u
        for f in FRACTIONS:
            k = prefix_units(u, f)
            prefix_flags[f].append(int(k > 0 and trace.unit_risks[k - 1] >= pol.threshold))
        if assessment.flagged or assessment.first_alert is not None:
            if assessment.suspect is not None:
                suspects.add(assessment.suspect)
            for i in assessment.grooming_messages:
                line = conv.messages[i].line
                lines.add((conv.id, line if line is not None else i + 1))
        if progress is not None:
            progress(len(labels))
    if not labels:
        raise InputError("no conversations to evaluate")
    flagged = [int(r >= pol.threshold) for r in risks]
    warned = [int(d is not None) for d in delays]
    metrics: dict[str, Any] = {
        "conversations": len(labels),
        "positives": int(sum(labels)),
        "units": n_units,
        "policy": pol.to_dict(),
        "whole": binary_metrics(labels, flagged),
    }
    for f in FRACTIONS:
        metrics[f"prefix_{round(f * 100)}"] = binary_metrics(labels, prefix_flags[f])
    metrics["latency"] = _finite(latency_weighted_f1(labels, warned, delays))
    if 0 < sum(labels) < len(labels):
        metrics["roc_auc"] = float(roc_auc_score(labels, risks))
        metrics["average_precision"] = float(average_precision_score(labels, risks))
    if truth is not None:
        metrics["pan12_problem1"] = pan12_problem1(suspects, truth.predators)
        if truth.lines is not None:
            metrics["pan12_problem2"] = pan12_problem2(lines, truth.lines)
    return Evaluation(metrics=metrics, labels=labels, risks=risks, delays=delays)


def _finite(d: dict[str, float]) -> dict[str, float | None]:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}


def _label(conv: Conversation, truth: Pan12Truth | None) -> Conversation:
    if truth is not None:
        label = int(any(a in truth.predators for a in conv.authors))
        return Conversation(
            id=conv.id,
            messages=conv.messages,
            participants=conv.participants,
            platform=conv.platform,
            label=label,
            meta=conv.meta,
        )
    if conv.label not in (0, 1):
        raise InputError(
            f"conversation {conv.id!r} has no label 0/1 (give labels, or --pan12-truth)"
        )
    return conv


def _with_conv(
    detector: Detector, convs: Iterable[Conversation], policy: AlertPolicy
) -> Iterable[tuple[tuple[Any, Any], Conversation]]:
    """Pairs of ``(assessment, trace)`` with their conversation, holding one batch at a time."""
    buffer: deque[Conversation] = deque()

    def remember(items: Iterable[Conversation]) -> Iterable[Conversation]:
        for c in items:
            buffer.append(c)
            yield c

    for pair in detector.traces(remember(convs), policy):
        conv = buffer.popleft()
        yield pair, conv


def write_curves(evaluation: Evaluation, directory: Path) -> list[Path]:
    """A precision-recall curve and a latency curve (share of positives warned about by the
    number of units seen) as PNG files in ``directory``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    y = np.array(evaluation.labels)
    r = np.array(evaluation.risks)
    if 0 < y.sum() < len(y):
        precision, recall, _ = precision_recall_curve(y, r)
        fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
        ax.plot(recall, precision, drawstyle="steps-post")
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_title("Precision-recall, whole conversations")
        ax.set_xlim(0, 1.01)
        ax.set_ylim(0, 1.01)
        ax.grid(alpha=0.3)
        path = directory / "pr_curve.png"
        fig.savefig(path, bbox_inches="tight")
        plt.close(fig)
        written.append(path)
    pos_delays = sorted(
        d for d, t in zip(evaluation.delays, evaluation.labels, strict=True) if t and d is not None
    )
    n_pos = int(y.sum())
    if n_pos:
        fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
        xs = np.arange(1, (pos_delays[-1] if pos_delays else 1) + 2)
        share = [sum(1 for d in pos_delays if d <= x) / n_pos for x in xs]
        ax.plot(xs, share, drawstyle="steps-post")
        ax.set_xlabel("messages seen (units)")
        ax.set_ylabel("share of positive conversations warned about")
        ax.set_title("Early warning latency")
        ax.set_ylim(0, 1.01)
        ax.grid(alpha=0.3)
        path = directory / "latency_curve.png"
        fig.savefig(path, bbox_inches="tight")
        plt.close(fig)
        written.append(path)
    return written


def summary_rows(metrics: dict[str, Any]) -> Sequence[tuple[str, str]]:
    """``(name, value)`` rows for a terminal table."""
    rows: list[tuple[str, str]] = []
    w = metrics["whole"]
    rows += [
        ("conversations (positive)", f"{metrics['conversations']} ({metrics['positives']})"),
        ("precision", f"{w['precision']:.3f}"),
        ("recall", f"{w['recall']:.3f}"),
        ("F1", f"{w['f1']:.3f}"),
        ("F0.5", f"{w['f0.5']:.3f}"),
        ("false-positive rate", f"{w['fpr']:.4f} ({w['fp']} of {w['fp'] + w['tn']})"),
    ]
    for f in FRACTIONS:
        rows.append(
            (f"F1 at first {round(f * 100)} %", f"{metrics[f'prefix_{round(f * 100)}']['f1']:.3f}")
        )
    lat = metrics["latency"]
    rows += [
        ("warning F1", f"{lat['f1']:.3f}"),
        ("speed", f"{lat['speed']:.3f}"),
        ("latency-weighted F1", f"{lat['f_latency']:.3f}"),
        (
            "median delay (units)",
            "-" if lat["median_delay"] is None else f"{lat['median_delay']:g}",
        ),
    ]
    if "roc_auc" in metrics:
        rows += [
            ("ROC AUC", f"{metrics['roc_auc']:.4f}"),
            ("average precision", f"{metrics['average_precision']:.4f}"),
        ]
    for key, label, beta in (
        ("pan12_problem1", "PAN12 problem 1", "f0.5"),
        ("pan12_problem2", "PAN12 problem 2", "f3"),
    ):
        if key in metrics:
            m = metrics[key]
            rows.append(
                (
                    label,
                    f"P {m['precision']:.3f}  R {m['recall']:.3f}  F1 {m['f1']:.3f}  "
                    f"{beta.upper()} {m[beta]:.3f}",
                )
            )
    return rows
