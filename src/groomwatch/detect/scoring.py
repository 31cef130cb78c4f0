"""Reading conversations into units and computing decisions in batch, vectorised with numpy.

The batch path and the streaming :class:`~groomwatch.detect.monitor.Monitor` compute the same
quantities: per unit, the change of the running dot product, of the running squared norm and of the
tactic term (:func:`unit_deltas`), then running sums per conversation. The monitor does it one unit
at a time with the same functions, so its risk after each message equals the batch risk.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from groomwatch.conversation import Participant
from groomwatch.detect.fasthash import _ascii_not_space, _rows_of
from groomwatch.detect.model import (
    FloatArray,
    IntArray,
    LinearRisk,
    TextHasher,
    sublinear,
)
from groomwatch.detect.tactics.base import Finding, TacticRegistry
from groomwatch.detect.units import LONG_MESSAGE_TOKENS, count_tokens, split_units


class MessageLike(Protocol):
    """What scoring reads of a message (:class:`~groomwatch.conversation.Message` has it)."""

    @property
    def text(self) -> str: ...

    @property
    def author(self) -> str | None: ...


class ConversationLike(Protocol):
    """What scoring reads of a conversation (:class:`~groomwatch.conversation.Conversation`
    has it): a lighter object with these attributes is scored the same (the parallel scan's
    workers rebuild conversations this way, see :mod:`groomwatch.detect.parallel`)."""

    @property
    def id(self) -> str: ...

    @property
    def messages(self) -> Sequence[MessageLike]: ...

    @property
    def participants(self) -> Sequence[Participant]: ...


@dataclass(frozen=True, eq=False)
class UnitBatch:
    """Units of a batch of conversations, with their kept counts, findings and tokens."""

    conv_start: IntArray  # unit offsets of each conversation, length n_convs + 1
    unit_msg: IntArray  # message index of each unit within its conversation
    counts: sp.csr_matrix  # n_units x kept columns (no entries if read without: see read_units)
    tactic_counts: FloatArray  # n_units x tactics: findings per tactic in the unit
    tokens: FloatArray  # tokens per unit
    findings: tuple[tuple[Finding, ...], ...]  # per conversation, in message order
    unit_findings: tuple[tuple[Finding, ...], ...]  # per unit
    grouped: tuple[IntArray, IntArray, FloatArray] | None = None
    """The entries of ``counts`` as ``(unit, column, count)`` in the order :func:`score_units`
    reads them (see :func:`group_entries`), when :func:`read_units` already had them (then
    :func:`score_units` reads them rather than ``counts``)."""

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


EntryFilter = Callable[[IntArray, IntArray, FloatArray], tuple[IntArray, IntArray, FloatArray]]
"""Keeps some hashed entries ``(rows, columns, counts)`` and renumbers their columns, e.g.
:meth:`RiskModel.kept_entries <groomwatch.detect.model.RiskModel.kept_entries>`."""


def read_units(
    convs: Sequence[ConversationLike],
    registry: TacticRegistry,
    hasher: TextHasher,
    tactic_names: Sequence[str],
    keep: Callable[[sp.csr_matrix], sp.csr_matrix] | None = None,
    *,
    kept: EntryFilter | None = None,
    n_kept: int | None = None,
    positions: NDArray[np.int32] | None = None,
    with_counts: bool = True,
) -> UnitBatch:
    """Split every message into units, hash them, and run the tactics on each unit.

    The counts are restricted to the kept columns either by ``keep`` (a matrix to matrix
    function such as :meth:`RiskModel.kept_counts`) or, faster, by ``kept`` (an
    :data:`EntryFilter` such as :meth:`RiskModel.kept_entries`, with ``n_kept`` columns), which
    never builds the matrix of all hashed columns; or, fastest, by ``positions`` (a table from
    hashed column to kept position, -1 when not kept, such as
    :attr:`RiskModel.position_table <groomwatch.detect.model.RiskModel.position_table>`), which
    the hasher applies as it goes. Without any of them, all hashed columns count.

    With ``kept`` or ``positions`` and ``with_counts=False``, the matrix ``counts`` is left
    without entries (of the right shape) and only :attr:`UnitBatch.grouped` holds them: scoring
    reads nothing else, and building the matrix costs about as much as grouping the entries.
    """
    tactic_pos = {name: i for i, name in enumerate(tactic_names)}
    msgs_of = [conv.messages for conv in convs]
    texts = [m.text for msgs in msgs_of for m in msgs]
    authors = [m.author for msgs in msgs_of for m in msgs]
    sizes = [len(msgs) for msgs in msgs_of]
    tokens = _token_counts(texts)
    starts_of = np.repeat(np.array([0, *itertools.accumulate(sizes)][:-1], dtype=np.int64), sizes)
    unit_msg: list[int] = (np.arange(len(texts), dtype=np.int64) - starts_of).tolist()
    if tokens and max(tokens) > LONG_MESSAGE_TOKENS:
        texts, authors, unit_msg, tokens, offsets, sizes = _split_long(
            texts, authors, unit_msg, tokens, sizes
        )
    else:
        offsets = None
    conv_start = [0, *itertools.accumulate(sizes)]
    # Tactics on all units at once; spans are made relative to the whole message.
    found_at = registry.find_many(texts, unit_msg, authors)
    if offsets is not None:
        for u, found in found_at.items():
            if offsets[u]:
                found_at[u] = [
                    dataclasses.replace(f, start=f.start + offsets[u], end=f.end + offsets[u])
                    for f in found
                ]
    per_unit: list[tuple[Finding, ...]] = [()] * len(texts)
    tac_rows: list[int] = []
    tac_cols: list[int] = []
    with_findings = sorted(found_at)
    for u in with_findings:
        found = found_at[u]
        per_unit[u] = tuple(found)
        for f in found:
            t = tactic_pos.get(f.tactic)
            if t is not None:
                tac_rows.append(u)
                tac_cols.append(t)
    per_conv: list[tuple[Finding, ...]]
    if found_at:
        conv_of: list[int] = np.searchsorted(conv_start, with_findings, side="right").tolist()
        grouped_found: dict[int, list[Finding]] = {}
        for u, c in zip(with_findings, conv_of, strict=True):
            grouped_found.setdefault(c - 1, []).extend(found_at[u])
        per_conv = [()] * len(sizes)
        for c, found in grouped_found.items():
            per_conv[c] = tuple(found)
    else:
        per_conv = [()] * len(sizes)
    n = len(texts)
    tactic_counts = np.zeros((n, len(tactic_names)), dtype=np.float64)
    if tac_rows:
        np.add.at(tactic_counts, (np.array(tac_rows), np.array(tac_cols)), 1.0)
    starts = np.array(conv_start, dtype=np.int64)
    grouped: tuple[IntArray, IntArray, FloatArray] | None = None
    if kept is None and positions is None:
        counts = hasher.transform(texts) if n else sp.csr_matrix((0, hasher.n_features))
        if keep is not None:
            counts = keep(counts)
    else:
        if n_kept is None:
            raise ValueError("read_units: kept or positions need n_kept")
        if not n:
            rows, cols, data = _no_entries()
        elif positions is not None:
            rows, cols, data = hasher.entries(texts, positions)
        else:
            assert kept is not None
            rows, cols, data = kept(*hasher.entries(texts))
        grouped = group_entries(starts, rows, cols, data, n_kept)
        r, p, d = grouped
        # In group order the entries of each unit come in column order: the matrix built from
        # them is canonical without sorting.
        if with_counts:
            counts = sp.csr_matrix((d, (r, p)), shape=(n, n_kept))
        else:
            counts = sp.csr_matrix((n, n_kept))
    return UnitBatch(
        conv_start=starts,
        unit_msg=np.array(unit_msg, dtype=np.int64),
        counts=counts,
        tactic_counts=tactic_counts,
        tokens=np.array(tokens, dtype=np.float64),
        findings=tuple(per_conv),
        unit_findings=tuple(per_unit),
        grouped=grouped,
    )


def _token_counts(texts: list[str]) -> list[int]:
    """:func:`count_tokens` of every text (whitespace-separated tokens, as ``str.split()``):
    for a batch of ASCII texts, the starts of runs of non-space bytes counted per text with
    numpy, without a list of words per text."""
    if len(texts) < 64 or not "".join(texts).isascii():
        return [len(t.split()) for t in texts]
    buf = np.frombuffer("\n".join(texts).encode("ascii"), dtype=np.uint8)
    lens = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    text_starts = np.zeros(len(texts), dtype=np.int64)
    np.cumsum(lens[:-1] + 1, out=text_starts[1:])
    word = _ascii_not_space(buf)
    run_start = np.flatnonzero(word & ~np.concatenate([[False], word[:-1]]))
    counts = np.bincount(_rows_of(run_start, text_starts, len(buf)), minlength=len(texts))
    return list(counts.tolist())


def _split_long(
    texts: list[str],
    authors: list[str | None],
    unit_msg: list[int],
    tokens: list[int],
    sizes: list[int],
) -> tuple[list[str], list[str | None], list[int], list[int], list[int], list[int]]:
    """Messages to units when some message is long (:func:`split_units`): the units' texts,
    authors, message indexes, tokens and offsets in their message, and units per conversation."""
    out_texts: list[str] = []
    out_authors: list[str | None] = []
    out_msg: list[int] = []
    out_tokens: list[int] = []
    offsets: list[int] = []
    out_sizes: list[int] = []
    m = 0
    for size in sizes:
        before = len(out_texts)
        for k in range(m, m + size):
            if tokens[k] <= LONG_MESSAGE_TOKENS:
                out_texts.append(texts[k])
                out_authors.append(authors[k])
                out_msg.append(unit_msg[k])
                out_tokens.append(tokens[k])
                offsets.append(0)
                continue
            for offset, part in unit_texts(texts[k]):
                out_texts.append(part)
                out_authors.append(authors[k])
                out_msg.append(unit_msg[k])
                out_tokens.append(count_tokens(part))
                offsets.append(offset)
        m += size
        out_sizes.append(len(out_texts) - before)
    return out_texts, out_authors, out_msg, out_tokens, offsets, out_sizes


def group_entries(
    conv_start: IntArray, rows: IntArray, cols: IntArray, data: FloatArray, width: int
) -> tuple[IntArray, IntArray, FloatArray]:
    """Entries ``(unit, column, count)`` summed per (unit, column) and ordered by column, then
    unit: the units of a conversation are consecutive, so the units that add to one running
    count of a conversation are consecutive and in order, and within each unit the entries come
    in column order. ``width`` bounds the column numbers.

    One sort of a single integer key (column, unit) does it, of 32-bit keys when they fit (about
    twice as fast as 64-bit ones); when every count is 1 (one entry per n-gram occurrence, as
    :meth:`TextHasher.entries` gives), the keys alone are sorted and the counts are the lengths
    of runs of equal keys."""
    n_units = int(conv_start[-1])
    if len(rows) == 0:
        return _no_entries()
    w = max(int(width), 1)
    # (column, unit) packed into the bits of one integer: shifts and masks decode it (cheaper
    # than division)
    unit_bits = max(n_units - 1, 1).bit_length()
    col_bits = max(w - 1, 1).bit_length()
    if col_bits + unit_bits > 62:  # pragma: no cover - huge
        return _group_lexsort(rows, cols, data)
    kind: type[np.unsignedinteger[Any]] | type[np.signedinteger[Any]] = (
        np.uint32 if col_bits + unit_bits <= 32 else np.int64
    )
    key: NDArray[Any] = np.left_shift(cols.astype(kind), kind(unit_bits))
    key |= rows.astype(kind)
    ones = bool(data.min() == 1.0 == data.max())
    if ones:
        key = np.sort(key)
    else:
        order = np.argsort(key, kind="stable")
        key, data = key[order], data[order]
    new = np.ones(len(key), dtype=bool)
    new[1:] = key[1:] != key[:-1]
    first = np.flatnonzero(new)
    if ones:
        d = np.diff(np.append(first, len(key))).astype(np.float64)
    else:
        d = np.add.reduceat(data, first).astype(np.float64)
    unique = key[first]
    r = (unique & kind((1 << unit_bits) - 1)).astype(np.int64)
    p = (unique >> kind(unit_bits)).astype(np.int64)
    return r, p, d


def _group_lexsort(
    rows: IntArray, cols: IntArray, data: FloatArray
) -> tuple[IntArray, IntArray, FloatArray]:
    """:func:`group_entries` with two sort keys, for sizes whose packed key would overflow."""
    order = np.lexsort((rows, cols))
    r, p, d = rows[order], cols[order], data[order]
    new = np.ones(len(r), dtype=bool)
    new[1:] = (r[1:] != r[:-1]) | (p[1:] != p[:-1])
    first = np.flatnonzero(new)
    return r[first], p[first], np.add.reduceat(d, first).astype(np.float64)


def _no_entries() -> tuple[IntArray, IntArray, FloatArray]:
    return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)


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
    np.divide(dot, np.sqrt(np.maximum(sq, 0.0)), out=parts, where=sq > 0)
    text = parts[:, 0].copy()
    for b in range(1, parts.shape[1]):
        text += parts[:, b]
    return np.asarray(
        text + tactic + linear.coef_length * np.log1p(tokens) + linear.intercept,
        dtype=np.float64,
    )


_SMALL_COUNTS = 1024
_SUBLINEAR_TABLE = sublinear(np.arange(_SMALL_COUNTS, dtype=np.float64))


def _sublinear_whole(counts: FloatArray) -> FloatArray:
    """:func:`sublinear` of whole, non-negative counts: a table lookup for the small ones (the
    same values, computed once), the logarithm for the rare large ones."""
    small = np.minimum(counts, _SMALL_COUNTS - 1).astype(np.int64)
    out = _SUBLINEAR_TABLE[small]
    large = np.flatnonzero(counts >= _SMALL_COUNTS)
    if len(large):
        out[large] = sublinear(counts[large])
    return np.asarray(out, dtype=np.float64)


def _sublinear_changes(
    counts: IntArray, group_first: NDArray[np.bool_]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """:func:`sublinear` of the running count after and before each entry, and of the entry's
    own count, for whole ``counts`` in groups (``group_first`` marks the first entry of each)
    whose running counts restart at every group.

    Integer running sums (exact) and, while every count is below ``_SMALL_COUNTS``, one table
    lookup per array (the same values as :func:`sublinear`, computed once); larger counts take
    :func:`_sublinear_whole`."""
    if len(counts) == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    csum = np.cumsum(counts)
    seen = csum - counts  # over all entries before this one
    first = np.flatnonzero(group_first)
    before = seen - np.repeat(seen[first], np.diff(np.append(first, len(counts))))
    after = before + counts
    if int(after.max()) >= _SMALL_COUNTS:
        return (
            _sublinear_whole(after.astype(np.float64)),
            _sublinear_whole(before.astype(np.float64)),
            _sublinear_whole(counts.astype(np.float64)),
        )
    table = _SUBLINEAR_TABLE
    return table[after], table[before], table[counts]


def _segment_cumsum(values: FloatArray, conv_start: IntArray) -> FloatArray:
    """Running sums along axis 0 that restart at every conversation, each one sequential
    (``np.cumsum`` per conversation), as the monitor adds one unit after the other."""
    out = np.empty_like(values)
    bounds = conv_start.tolist()
    for s, e in itertools.pairwise(bounds):
        if e > s:
            np.cumsum(values[s:e], axis=0, out=out[s:e])
    return out


def score_units(batch: UnitBatch, linear: LinearRisk) -> UnitScores:
    """Running and own decisions of every unit of a batch.

    Every entry (unit, kept column, count) is visited once, in the order (conversation, column,
    unit): the count of the column before the unit is a running sum within the group; the
    changes of the running dot product and squared norm (and the unit's own ones) are summed per
    unit with ``np.bincount``. Within a unit the entries are then in column order, the order the
    monitor sums in (:func:`unit_deltas` gives the same numbers)."""
    n = batch.n_units
    conv_start = batch.conv_start
    sizes = np.diff(conv_start)
    conv_of_unit = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
    if batch.grouped is not None:
        r, p, d = batch.grouped
    else:
        coo = batch.counts.tocoo()
        r, p, d = group_entries(
            conv_start,
            coo.row.astype(np.int64),
            coo.col.astype(np.int64),
            coo.data.astype(np.float64),
            int(batch.counts.shape[1]),
        )
    key_change = np.ones(len(r), dtype=bool)
    if len(r) > 1:
        c = conv_of_unit[r]
        key_change[1:] = (p[1:] != p[:-1]) | (c[1:] != c[:-1])
    whole = d.astype(np.int64)
    if np.array_equal(whole, d):  # whole counts (hashed counts always are): integer arithmetic
        g_new, g_old, g_own = _sublinear_changes(whole, key_change)
    else:
        csum = np.cumsum(d)
        group_start = np.maximum.accumulate(np.where(key_change, np.arange(len(r)), 0))
        before_group = np.where(group_start > 0, csum[group_start - 1], 0.0)
        before = csum - d - before_group
        after = before + d
        g_new, g_old, g_own = sublinear(after), sublinear(before), sublinear(d)
    tw = linear.text_weight[p]
    idf2 = linear.idf_squared[p]
    nb = linear.n_blocks
    key = r * nb + linear.blocks[p]
    size = n * nb

    def per_unit(weights: FloatArray) -> FloatArray:
        sums = np.bincount(key, weights=weights, minlength=size)
        return np.asarray(sums, dtype=np.float64).reshape(n, nb)

    own_dot = per_unit(tw * g_own)
    own_sq = per_unit(idf2 * (g_own**2))
    d_dot = per_unit(tw * (g_new - g_old))
    d_sq = per_unit(idf2 * (g_new**2 - g_old**2))
    tc = batch.tactic_counts
    # Only units with findings change a tactic term (most have none): the logarithms are
    # computed for those rows alone, the others are 0.0, as in the monitor.
    found = np.flatnonzero(tc.any(axis=1)) if tc.shape[1] else np.zeros(0, dtype=np.int64)
    tc_found = tc[found]
    own_tac = np.zeros(n)
    own_tac[found] = tactic_deltas(linear, tc_found, np.zeros_like(tc_found))
    own = combine(linear, own_dot, own_sq, own_tac, batch.tokens)
    # Tactic and token counts are whole numbers: a global running sum minus the sum before the
    # conversation is exact.
    n_tac = tc.shape[1]
    whole = np.concatenate([tc, batch.tokens[:, np.newaxis]], axis=1)
    csum_whole = np.cumsum(whole, axis=0)
    base = np.concatenate([np.zeros((1, n_tac + 1)), csum_whole])[conv_start[:-1]]
    running_whole = csum_whole - np.repeat(base, sizes, axis=0)
    cum_tc, cum_tokens = running_whole[:, :n_tac], running_whole[:, n_tac]
    d_tac = np.zeros(n)
    d_tac[found] = tactic_deltas(linear, tc_found, cum_tc[found] - tc_found)
    running = _segment_cumsum(
        np.concatenate([d_dot, d_sq, d_tac[:, np.newaxis]], axis=1), conv_start
    )
    dot, sq, tac = running[:, :nb], running[:, nb : 2 * nb], running[:, 2 * nb]
    return UnitScores(cumulative=combine(linear, dot, sq, tac, cum_tokens), own=own)
