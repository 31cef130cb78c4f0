"""A multi-index hashing (MIH) index answering "which PDQ hashes are within distance T of this
one?" over millions of hashes in bounded memory.

How it works (Norouzi, Punjani & Fleet, "Fast search in Hamming space with multi-index hashing",
CVPR 2012): a 256-bit hash is cut into 16 chunks of 16 bits. If two hashes differ in at most T
bits, then by the pigeonhole principle at least one chunk differs in at most ``T // 16`` bits.
So for each chunk we look up every 16-bit value within ``T // 16`` bits of the query's chunk
(17 values at the default threshold 31) and verify the few candidates found by exact Hamming
distance. The answer is exactly the brute-force answer (the tests check this).

Storage: one :class:`IndexSegment` covers a contiguous range of a bank's rows and is two flat
arrays, kept as ``.npy`` files and memory-mapped: ``rows`` (uint32; for each chunk, the rows
sorted by that chunk's value) and ``offsets`` (uint32, 16 x 65,536 + 1 bucket starts, 4 MiB).
That is 64 bytes per hash (plus the 32-byte hash itself), no Python object per hash. Appending a
batch to a bank adds a segment for the new rows only; segments of similar size are merged (like a
log-structured merge tree), so a bank has O(log n) segments and each row is re-indexed O(log n)
times in all.

For thresholds of 48 and above (three bits or more per chunk) the probes outnumber the savings,
and a chunked linear scan is used instead; it is exact too.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from groomwatch.media.signals import PDQ, Rows

CHUNKS: Final = 16
CHUNK_BITS: Final = 16
MAX_PROBE_RADIUS: Final = 2
SCAN_BLOCK: Final = 1 << 18
SCAN_BELOW: Final = 4096

U32 = NDArray[np.uint32]
I64 = NDArray[np.int64]


@lru_cache(maxsize=8)
def _masks(radius: int) -> U32:
    """All 16-bit masks with at most ``radius`` bits set."""
    out = [0]
    for r in range(1, radius + 1):
        for bits in itertools.combinations(range(CHUNK_BITS), r):
            out.append(sum(1 << b for b in bits))
    return np.array(out, dtype=np.uint32)


def chunk_keys(hashes: Rows) -> U32:
    """The (n, 16) composite keys ``chunk_number << 16 | chunk_value`` of packed PDQ rows."""
    chunks = np.ascontiguousarray(hashes, dtype=np.uint8).view(">u2").astype(np.uint32)
    keys: U32 = chunks | (np.arange(CHUNKS, dtype=np.uint32) << np.uint32(CHUNK_BITS))
    return keys


def probe_keys(queries: Rows, threshold: int) -> U32:
    """(v, 16 * m) keys to look up for ``queries``: each chunk's value with every combination of
    at most ``threshold // 16`` bits flipped."""
    masks = _masks(threshold // CHUNKS)
    keys = chunk_keys(queries)  # (v, 16)
    probes: U32 = (keys[:, :, None] ^ masks[None, None, :]).reshape(len(queries), -1)
    return probes


@dataclass(frozen=True, slots=True)
class Hits:
    """Rows within the threshold: row numbers, their distance, and the query variant (0..v-1)
    whose distance was smallest (the first such variant on ties)."""

    rows: I64
    distances: I64
    variants: I64

    def __len__(self) -> int:
        return len(self.rows)

    @staticmethod
    def empty() -> Hits:
        z = np.zeros(0, dtype=np.int64)
        return Hits(z, z.copy(), z.copy())

    @staticmethod
    def concat(parts: Sequence[Hits]) -> Hits:
        parts = [p for p in parts if len(p)]
        if not parts:
            return Hits.empty()
        return Hits(
            np.concatenate([p.rows for p in parts]),
            np.concatenate([p.distances for p in parts]),
            np.concatenate([p.variants for p in parts]),
        )


def scan(hashes: Rows, queries: Rows, threshold: int, *, offset: int = 0) -> Hits:
    """Exact linear scan of ``hashes`` (rows numbered from ``offset``), block by block."""
    q = np.ascontiguousarray(queries, dtype=np.uint8).view(np.uint64)
    parts = []
    for start in range(0, len(hashes), SCAN_BLOCK):
        block = np.asarray(hashes[start : start + SCAN_BLOCK], dtype=np.uint8).view(np.uint64)
        dist = np.bitwise_count(block[:, None, :] ^ q[None, :, :]).sum(axis=2, dtype=np.int64)
        best_d = dist.min(axis=1)
        (near,) = np.nonzero(best_d <= threshold)
        if len(near):
            parts.append(
                Hits(
                    near.astype(np.int64) + start + offset,
                    best_d[near],
                    dist[near].argmin(axis=1).astype(np.int64),
                )
            )
    return Hits.concat(parts)


@dataclass(frozen=True, slots=True)
class IndexSegment:
    """The MIH tables of rows ``start`` (inclusive) to ``end`` (exclusive) of one bank.

    ``rows`` lists, chunk by chunk, the segment's rows ordered by that chunk's value;
    ``offsets[j << 16 | value]`` is where the rows with that value of chunk ``j`` begin. A segment
    of fewer than :data:`SCAN_BELOW` rows has no tables (``rows`` and ``offsets`` are None) and is
    scanned: that is faster than probing at such sizes and costs nothing to keep.
    """

    start: int
    end: int
    rows: U32 | None = None
    offsets: U32 | None = None

    @property
    def size(self) -> int:
        return self.end - self.start

    @property
    def stem(self) -> str:
        return f"pdq-{self.start:012d}-{self.end:012d}"

    @staticmethod
    def build(hashes: Rows, start: int, end: int, *, min_rows: int = SCAN_BELOW) -> IndexSegment:
        """Index rows ``start:end`` of ``hashes`` (a (n, 32) uint8 array or memmap); a range of
        fewer than ``min_rows`` rows gets no tables and is scanned."""
        n = end - start
        if n < max(min_rows, 1):
            return IndexSegment(start, end)
        if CHUNKS * n >= 2**32:
            raise ValueError("one index segment holds at most 268 million hashes")
        rows = np.empty(CHUNKS * n, dtype=np.uint32)
        counts = np.empty(CHUNKS << CHUNK_BITS, dtype=np.int64)
        chunks = np.ascontiguousarray(hashes[start:end], dtype=np.uint8).view(">u2")  # (n, 16)
        for j in range(CHUNKS):
            column = chunks[:, j]
            rows[j * n : (j + 1) * n] = np.argsort(column, kind="stable")
            counts[j << CHUNK_BITS : (j + 1) << CHUNK_BITS] = np.bincount(
                column, minlength=1 << CHUNK_BITS
            )
        offsets = np.zeros((CHUNKS << CHUNK_BITS) + 1, dtype=np.uint32)
        np.cumsum(counts, out=offsets[1:], dtype=np.uint32)
        return IndexSegment(start, end, rows, offsets)

    def save(self, directory: Path) -> None:
        if self.rows is None or self.offsets is None:
            return
        directory.mkdir(parents=True, exist_ok=True)
        for part, arr in (("rows", self.rows), ("offsets", self.offsets)):
            tmp = directory / f"{self.stem}.{part}.tmp.npy"
            np.save(tmp, arr)
            tmp.replace(directory / f"{self.stem}.{part}.npy")

    def files(self, directory: Path) -> list[Path]:
        return [directory / f"{self.stem}.{part}.npy" for part in ("rows", "offsets")]

    @staticmethod
    def load(directory: Path, start: int, end: int) -> IndexSegment:
        """Memory-map a saved segment (or describe a scanned one, which has no files)."""
        seg = IndexSegment(start, end)
        rows_path, offsets_path = seg.files(directory)
        if not rows_path.exists() and end - start < SCAN_BELOW:
            return seg
        rows = np.load(rows_path, mmap_mode="r")
        offsets = np.load(offsets_path, mmap_mode="r")
        if rows.shape != (CHUNKS * (end - start),) or offsets.shape != ((CHUNKS << 16) + 1,):
            raise ValueError(f"index segment {seg.stem} has the wrong size; rebuild the index")
        # Plain ndarray views of the maps: the np.memmap subclass adds work to every operation.
        return IndexSegment(start, end, np.asarray(rows), np.asarray(offsets))

    def search(
        self, hashes: Rows, queries: Rows, threshold: int, probes: U32 | None = None
    ) -> Hits:
        """Rows of this segment within ``threshold`` of a query (``hashes`` is the whole bank).
        ``probes`` are :func:`probe_keys` of the queries, when the caller has them already."""
        if self.rows is None or self.offsets is None:
            return scan(hashes[self.start : self.end], queries, threshold, offset=self.start)
        if probes is None:
            probes = probe_keys(queries, threshold)
        lo = np.take(self.offsets, probes).astype(np.int64)
        lengths = np.take(self.offsets, probes + 1).astype(np.int64) - lo
        total = int(lengths.sum())
        if total == 0:
            return Hits.empty()
        # Concatenate the ranges lo[i]:lo[i]+lengths[i] without a Python loop, remembering which
        # query variant each candidate came from; verify it against that variant only (the
        # pigeonhole bound holds per variant, so nothing within the threshold is missed).
        flat_lo, flat_len = lo.ravel(), lengths.ravel()
        starts = np.repeat(flat_lo - np.cumsum(flat_len) + flat_len, flat_len)
        cand = np.take(self.rows, starts + np.arange(total)).astype(np.int64) + self.start
        variant = np.repeat(np.arange(len(queries)), lengths.sum(axis=1))
        dist = _distances(hashes, cand, queries, variant)
        keep = dist <= threshold
        return _best_per_row(cand[keep], dist[keep], variant[keep])


def _distances(hashes: Rows, rows: I64, queries: Rows, variant: I64) -> I64:
    """Distance from each of ``rows`` to the query variant it was found for. (``np.take`` on a
    uint64 view gathers rows several times faster than fancy indexing on uint8.)"""
    block = np.take(hashes.view(np.uint64), rows, axis=0)  # (c, 4)
    q = np.take(np.ascontiguousarray(queries, dtype=np.uint8).view(np.uint64), variant, axis=0)
    counts = np.bitwise_count(block ^ q)
    dist: I64 = counts[:, 0].astype(np.int64) + counts[:, 1] + counts[:, 2] + counts[:, 3]
    return dist


def _best_per_row(rows: I64, distances: I64, variants: I64) -> Hits:
    """One hit per row: the smallest distance, then the lowest variant number."""
    if len(rows) <= 1:
        return Hits(rows, distances, variants)
    order = np.lexsort((variants, distances, rows))
    rows, distances, variants = rows[order], distances[order], variants[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = rows[1:] != rows[:-1]
    return Hits(rows[first], distances[first], variants[first])


class MatchIndex:
    """Every PDQ row of one bank (``hashes``, a (n, 32) uint8 array or memmap) and the segments
    indexing them. Rows not covered by a segment (none, normally) are scanned."""

    def __init__(self, hashes: Rows, segments: Sequence[IndexSegment] = ()) -> None:
        if hashes.ndim != 2 or hashes.shape[1] != PDQ.nbytes:
            raise ValueError("hashes must be an (n, 32) uint8 array")
        self.hashes = hashes
        self.segments = tuple(sorted(segments, key=lambda s: s.start))
        covered = 0
        for seg in self.segments:
            if seg.start != covered or seg.end > len(hashes):
                raise ValueError("index segments must cover rows 0..n contiguously")
            covered = seg.end
        self.indexed = covered

    def __len__(self) -> int:
        return len(self.hashes)

    @staticmethod
    def build(hashes: Rows) -> MatchIndex:
        n = len(hashes)
        return MatchIndex(hashes, [IndexSegment.build(hashes, 0, n)] if n else [])

    def query(self, queries: Rows, threshold: int) -> Hits:
        """Rows within ``threshold`` bits of any of ``queries`` ((v, 32) packed PDQ), each once,
        with its smallest distance and the variant giving it (the first one on ties)."""
        q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.uint8)
        if threshold < 0 or len(self.hashes) == 0:
            return Hits.empty()
        if threshold // CHUNKS > MAX_PROBE_RADIUS:
            return scan(self.hashes, q, threshold)
        probes = probe_keys(q, threshold)
        parts = [seg.search(self.hashes, q, threshold, probes) for seg in self.segments]
        if self.indexed < len(self.hashes):
            tail = self.hashes[self.indexed :]
            parts.append(scan(tail, q, threshold, offset=self.indexed))
        return Hits.concat(parts)


def merge_plan(segments: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The segment ranges after merging the newest segment with older ones of no greater size
    (a binary-counter policy: sizes roughly halve from oldest to newest)."""
    out = list(segments)
    while len(out) >= 2 and (out[-2][1] - out[-2][0]) <= (out[-1][1] - out[-1][0]):
        (a, _), (_, b) = out[-2], out[-1]
        out[-2:] = [(a, b)]
    return out
