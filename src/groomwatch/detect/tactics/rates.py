"""How often each tactic fires on positive and negative chat segments: the table in
docs/tactics.md, and a check that the tactics stay discriminative as cues change.

``python -m groomwatch.detect.tactics.rates SEGMENTS.csv`` reads a CSV with ``segment`` and
``label`` columns (VTPAN style: 1 = from a conversation with a predator) and prints a Markdown
table of counts and rates only; it never prints text.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from groomwatch.detect.tactics.base import TacticRegistry
from groomwatch.errors import InputError

__all__ = ["FiringRate", "firing_rates", "markdown_table", "read_segments"]

#: A finding this strong or stronger counts in the "strong" columns.
STRONG = 0.5


@dataclass(frozen=True, slots=True)
class FiringRate:
    """Segments in which ``tactic`` fired (any score, and score >= :data:`STRONG`), by label."""

    tactic: str
    positives: int
    negatives: int
    fired_pos: int
    fired_neg: int
    strong_pos: int
    strong_neg: int

    @property
    def rate_pos(self) -> float:
        return self.fired_pos / self.positives if self.positives else 0.0

    @property
    def rate_neg(self) -> float:
        return self.fired_neg / self.negatives if self.negatives else 0.0

    @property
    def strong_rate_pos(self) -> float:
        return self.strong_pos / self.positives if self.positives else 0.0

    @property
    def strong_rate_neg(self) -> float:
        return self.strong_neg / self.negatives if self.negatives else 0.0


def read_segments(path: Path) -> list[tuple[str, int]]:
    """``(segment, label)`` pairs from a CSV with ``segment`` and ``label`` columns."""
    out: list[tuple[str, int]] = []
    try:
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or not {"segment", "label"} <= set(reader.fieldnames):
                raise InputError(f"{path}: needs the columns segment and label")
            for line, row in enumerate(reader, start=2):
                if row["label"] not in ("0", "1"):
                    raise InputError(f"{path}, line {line}, field label: must be 0 or 1")
                out.append((row["segment"], int(row["label"])))
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return out


def firing_rates(
    registry: TacticRegistry, segments: Iterable[tuple[str, int]]
) -> tuple[FiringRate, ...]:
    """For each tactic, in how many positive and negative segments it fires (a segment is
    matched as one message)."""
    names = registry.names
    fired = {name: [0, 0] for name in names}
    strong = {name: [0, 0] for name in names}
    totals = [0, 0]
    for text, label in segments:
        totals[label] += 1
        best: dict[str, float] = {}
        for f in registry.find(text, 0):
            best[f.tactic] = max(best.get(f.tactic, 0.0), f.score)
        for name, score in best.items():
            fired[name][label] += 1
            if score >= STRONG:
                strong[name][label] += 1
    return tuple(
        FiringRate(
            tactic=name,
            positives=totals[1],
            negatives=totals[0],
            fired_pos=fired[name][1],
            fired_neg=fired[name][0],
            strong_pos=strong[name][1],
            strong_neg=strong[name][0],
        )
        for name in names
    )


def markdown_table(rates: Sequence[FiringRate]) -> str:
    """The rates as a Markdown table (counts and rates only)."""
    if not rates:
        return ""
    p, n = rates[0].positives, rates[0].negatives
    lines = [
        f"| tactic | fires on positives (of {p}) | fires on negatives (of {n}) | "
        f"strong (>= {STRONG}) on positives | strong on negatives |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for r in rates:
        lines.append(
            f"| {r.tactic} | {r.fired_pos} ({r.rate_pos:.1%}) | {r.fired_neg} ({r.rate_neg:.1%}) "
            f"| {r.strong_pos} ({r.strong_rate_pos:.1%}) "
            f"| {r.strong_neg} ({r.strong_rate_neg:.1%}) |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    from groomwatch.detect.tactics import default_registry

    if len(argv) != 1:
        print("usage: python -m groomwatch.detect.tactics.rates SEGMENTS.csv", file=sys.stderr)
        return 2
    try:
        segments = read_segments(Path(argv[0]))
    except InputError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(markdown_table(firing_rates(default_registry(), segments)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
