"""Reading conversations into units and computing decisions in batch, vectorised with numpy.

The batch path and the streaming :class:`~groomwatch.detect.monitor.Monitor` compute the same
quantities: per unit, the change of the running dot product, of the running squared norm and of the
tactic term (:func:`unit_deltas`), then running sums per conversation. The monitor does it one unit
at a time with the same functions, so its risk after each message equals the batch risk.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from groomwatch.conversation import Conversation
from groomwatch.detect.model import (
    FloatArray,
    IntArray,
    LinearRisk,
    TextHasher,
    sublinear,
)
from groomwatch.detect.tactics.base import Finding, TacticRegistry
from groomwatch.detect.units import count_tokens, split_units


@dataclass(frozen=True, eq=False)
class UnitBatch:
    """Units of a batch of conversations, with their kept counts, findings and tokens."""

    conv_start: IntArray  # unit offsets of each conversation, length n_convs + 1
    unit_msg: IntArray  # message index of each unit within its conversation
    counts: sp.csr_matrix  # n_units x kept columns
    tactic_counts: FloatArray  # n_units x tactics: findings per tactic in the unit
    tokens: FloatArray  # tokens per unit
    findings: tuple[tuple[Finding, ...], ...]  # per conversation, in message order
    unit_findings: tuple[tuple[Finding, ...], ...]  # per unit

    @property
    def n_units(self) -> int:
        return int(self.conv_start[-1])


def unit_texts(text: str) -> list[tuple[int, str]]:
    """The units of one message: ``(offset, text)`` pairs."""
    spans = split_units(text)
    if len(spans) == 1 and spans[0] == (0, len(text)):
        return [(0, text)]
    return [(s, text[s:e]) for s, e in spans]


def find_in_unit(
    registry: TacticRegistry, text: str, offset: int, index: int, author: str | None
) -> list[Finding]:
    """Tactic findings in one unit, with spans relative to the whole message."""
    found = registry.find(text, index, author)
    if offset:
        found = [dataclasses.replace(f, start=f.start + offset, end=f.end + offset) for f in found]
    return found


def read_units(
    convs: Sequence[Conversation],
    registry: TacticRegistry,
    hasher: TextHasher,
    tactic_names: Sequence[str],
    keep: Callable[[sp.csr_matrix], sp.csr_matrix] | None = None,
) -> UnitBatch:
    """Split every message into units, hash them (restricted to the kept columns by ``keep``,
    e.g. :meth:`RiskModel.kept_counts`; all hashed columns without it), and run the tactics on
    each unit."""
    tactic_pos = {name: i for i, name in enumerate(tactic_names)}
    texts: list[str] = []
    unit_msg: list[int] = []
    conv_start = [0]
    tac_rows: list[int] = []
    tac_cols: list[int] = []
    per_conv: list[tuple[Finding, ...]] = []
    per_unit: list[tuple[Finding, ...]] = []
    for conv in convs:
        conv_findings: list[Finding] = []
        for i, msg in enumerate(conv.messages):
            for offset, text in unit_texts(msg.text):
                found = find_in_unit(registry, text, offset, i, msg.author)
                u = len(texts)
                for f in found:
                    t = tactic_pos.get(f.tactic)
                    if t is not None:
                        tac_rows.append(u)
                        tac_cols.append(t)
                conv_findings.extend(found)
                per_unit.append(tuple(found))
                texts.append(text)
                unit_msg.append(i)
        conv_start.append(len(texts))
        per_conv.append(tuple(conv_findings))
    n = len(texts)
    tactic_counts = np.zeros((n, len(tactic_names)), dtype=np.float64)
    if tac_rows:
        np.add.at(tactic_counts, (np.array(tac_rows), np.array(tac_cols)), 1.0)
    counts = hasher.transform(texts) if n else sp.csr_matrix((0, hasher.n_features))
    if keep is not None:
        counts = keep(counts)
    return UnitBatch(
        conv_start=np.array(conv_start, dtype=np.int64),
        unit_msg=np.array(unit_msg, dtype=np.int64),
        counts=counts,
        tactic_counts=tactic_counts,
        tokens=np.array([count_tokens(t) for t in texts], dtype=np.float64),
        findings=tuple(per_conv),
        unit_findings=tuple(per_unit),
    )


@dataclass(frozen=True, eq=False)
class UnitScores:
    """Per unit: running (cumulative within its conversation) and own decisions."""

    cumulative: FloatArray
    own: FloatArray


def unit_deltas(
    linear: LinearRisk,
    rows: IntArray,
    pos: IntArray,
    added: FloatArray,
    before: FloatArray,
    n_rows: int,
) -> tuple[FloatArray, FloatArray]:
    """Changes of the running dot products and squared norms (``n_rows x blocks``) when column
    ``pos`` of row ``rows`` goes from count ``before`` to ``before + added``. Entries are summed in
    the order given (``np.bincount``), the same order in batch and in the monitor."""
    g_new = sublinear(before + added)
    g_old = sublinear(before)
    tw = linear.text_weight[pos]
    idf2 = linear.idf[pos] ** 2
    nb = linear.n_blocks
    key = rows * nb + linear.blocks[pos]
    d_dot = np.bincount(key, weights=tw * (g_new - g_old), minlength=n_rows * nb)
    d_sq = np.bincount(key, weights=idf2 * (g_new**2 - g_old**2), minlength=n_rows * nb)
    return (
        d_dot.astype(np.float64).reshape(n_rows, nb),
        d_sq.astype(np.float64).reshape(n_rows, nb),
    )


def tactic_deltas(linear: LinearRisk, added: FloatArray, before: FloatArray) -> FloatArray:
    """Change of the tactic term per row when tactic counts go from ``before`` to
    ``before + added`` (both ``rows x tactics``)."""
    if added.shape[1] == 0:
        return np.zeros(added.shape[0])
    diff = (np.log1p(before + added) - np.log1p(before)) * linear.coef_tactic[np.newaxis, :]
    return np.asarray(diff.sum(axis=1), dtype=np.float64)


def combine(
    linear: LinearRisk, dot: FloatArray, sq: FloatArray, tactic: FloatArray, tokens: FloatArray
) -> FloatArray:
    """The decision from running sums (``dot`` and ``sq`` are ``rows x blocks``):
    ``sum_b dot_b / sqrt(sq_b) + tactic + length + intercept``."""
    parts = np.zeros_like(dot)
    nz = sq > 0
    parts[nz] = dot[nz] / np.sqrt(sq[nz])
    text = parts[:, 0].copy()
    for b in range(1, parts.shape[1]):
        text += parts[:, b]
    return np.asarray(
        text + tactic + linear.coef_length * np.log1p(tokens) + linear.intercept,
        dtype=np.float64,
    )


def score_units(batch: UnitBatch, linear: LinearRisk) -> UnitScores:
    """Running and own decisions of every unit of a batch."""
    n = batch.n_units
    coo = batch.counts.tocoo()
    rows = coo.row.astype(np.int64)
    pos = coo.col.astype(np.int64)
    data = coo.data.astype(np.float64)
    conv_of_unit = np.repeat(
        np.arange(len(batch.conv_start) - 1), np.diff(batch.conv_start)
    ).astype(np.int64)
    # Own decisions: each unit alone.
    own_dot, own_sq = unit_deltas(linear, rows, pos, data, np.zeros_like(data), n)
    own_tac = tactic_deltas(linear, batch.tactic_counts, np.zeros_like(batch.tactic_counts))
    own = combine(linear, own_dot, own_sq, own_tac, batch.tokens)
    # Running counts of each (conversation, column) before each unit.
    order = np.lexsort((rows, pos, conv_of_unit[rows]))
    r, p, d = rows[order], pos[order], data[order]
    key_change = np.ones(len(r), dtype=bool)
    if len(r) > 1:
        c = conv_of_unit[r]
        key_change[1:] = (p[1:] != p[:-1]) | (c[1:] != c[:-1])
    csum = np.cumsum(d)
    group_start = np.maximum.accumulate(np.where(key_change, np.arange(len(r)), 0))
    before_group = np.where(group_start > 0, csum[group_start - 1], 0.0)
    before = csum - d - before_group
    # Back to row-major order (unit, then column), the order the monitor sums in.
    back = np.lexsort((p, r))
    d_dot, d_sq = unit_deltas(linear, r[back], p[back], d[back], before[back], n)
    tc = batch.tactic_counts
    cum_tc = np.zeros_like(tc)
    cum_tokens = np.zeros(n)
    dot = np.zeros((n, linear.n_blocks))
    sq = np.zeros((n, linear.n_blocks))
    for s, e in zip(batch.conv_start[:-1], batch.conv_start[1:], strict=True):
        if e > s:
            cum_tc[s:e] = np.cumsum(tc[s:e], axis=0)
            cum_tokens[s:e] = np.cumsum(batch.tokens[s:e])
            dot[s:e] = np.cumsum(d_dot[s:e], axis=0)
            sq[s:e] = np.cumsum(d_sq[s:e], axis=0)
    d_tac = tactic_deltas(linear, tc, cum_tc - tc)
    tac = np.zeros(n)
    for s, e in zip(batch.conv_start[:-1], batch.conv_start[1:], strict=True):
        if e > s:
            tac[s:e] = np.cumsum(d_tac[s:e])
    return UnitScores(cumulative=combine(linear, dot, sq, tac, cum_tokens), own=own)
