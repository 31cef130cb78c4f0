"""The multi-index hashing index gives exactly the brute-force answer, also after appends."""

from __future__ import annotations

import itertools
import mmap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groomwatch.media.bank import BankEntry, BankStore
from groomwatch.media.index import SCAN_BELOW, Hits, IndexSegment, MatchIndex, merge_plan, scan
from groomwatch.media.signals import PDQ


def brute_force(hashes: np.ndarray, queries: np.ndarray, threshold: int) -> dict[int, tuple]:
    """Python integers, no NumPy tricks: row -> (distance, first variant with that distance)."""
    ints = [int.from_bytes(bytes(r), "big") for r in hashes]
    qints = [int.from_bytes(bytes(q), "big") for q in queries]
    out: dict[int, tuple[int, int]] = {}
    for row, h in enumerate(ints):
        dists = [(h ^ q).bit_count() for q in qints]
        best = min(dists)
        if best <= threshold:
            out[row] = (best, dists.index(best))
    return out


def as_dict(hits: Hits) -> dict[int, tuple]:
    assert len(set(hits.rows.tolist())) == len(hits), "a row is reported twice"
    return {
        int(r): (int(d), int(v))
        for r, d, v in zip(hits.rows, hits.distances, hits.variants, strict=True)
    }


def near(rng: np.random.Generator, row: np.ndarray, bits: int) -> np.ndarray:
    """``row`` with ``bits`` distinct bits flipped."""
    out = np.unpackbits(row).copy()
    flip = rng.choice(256, size=bits, replace=False)
    out[flip] ^= 1
    return np.packbits(out)


@st.composite
def bank_and_queries(draw: st.DrawFn) -> tuple[np.ndarray, list[int], np.ndarray, int]:
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(0, 600))
    hashes = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    # Batches as they would be appended, in order.
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=5)))
    batches = [b - a for a, b in zip([0, *cuts], [*cuts, n], strict=True)]
    n_variants = draw(st.integers(1, 8))
    queries = rng.integers(0, 256, (n_variants, 32), dtype=np.uint8)
    if n:  # plant near-duplicates of bank rows at distances around the thresholds
        for v in range(n_variants):
            if draw(st.booleans()):
                src = hashes[int(rng.integers(0, n))]
                queries[v] = near(rng, src, draw(st.integers(0, 70)))
        # and a few bank rows that are near each other (several hits per query)
        for _i in range(min(n, 10)):
            hashes[int(rng.integers(0, n))] = near(rng, queries[0], int(rng.integers(0, 40)))
    threshold = draw(st.integers(0, 80))
    return hashes, batches, queries, threshold


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bank_and_queries())
def test_index_equals_brute_force_after_incremental_appends(
    case: tuple[np.ndarray, list[int], np.ndarray, int],
) -> None:
    hashes, batches, queries, threshold = case
    segments: list[tuple[int, int]] = []
    start = 0
    built: dict[tuple[int, int], IndexSegment] = {}
    expected_all = brute_force(hashes, queries, threshold)
    for size in batches:
        if size == 0:
            continue
        segments = merge_plan([*segments, (start, start + size)])
        start += size
        for s, e in segments:
            if (s, e) not in built:
                # min_rows=0: give even small segments tables, so the probing path is tested.
                built[(s, e)] = IndexSegment.build(hashes, s, e, min_rows=0)
        index = MatchIndex(hashes[:start], [built[s] for s in segments])
        got = as_dict(index.query(queries, threshold))
        assert got == {r: v for r, v in expected_all.items() if r < start}
    assert as_dict(scan(hashes, queries, threshold)) == expected_all


def test_index_over_scan_threshold_and_tail_rows() -> None:
    rng = np.random.default_rng(7)
    hashes = rng.integers(0, 256, (SCAN_BELOW + 300, 32), dtype=np.uint8)
    index = MatchIndex(hashes, [IndexSegment.build(hashes, 0, SCAN_BELOW)])  # tail not indexed
    assert index.indexed == SCAN_BELOW
    q = np.stack([near(rng, hashes[5], 20), near(rng, hashes[SCAN_BELOW + 9], 3)])
    for threshold in (10, 31, 47, 60):
        assert as_dict(index.query(q, threshold)) == brute_force(hashes, q, threshold)


def test_merge_plan_keeps_logarithmic_segments() -> None:
    segments: list[tuple[int, int]] = []
    for i in range(64):
        segments = merge_plan([*segments, (i * 10, (i + 1) * 10)])
        sizes = [e - s for s, e in segments]
        assert sizes == sorted(sizes, reverse=True)
        assert segments[0][0] == 0
        assert all(a[1] == b[0] for a, b in itertools.pairwise(segments))
    assert segments == [(0, 640)]
    # A big bank then small batches: the big segment is not rebuilt.
    plan = merge_plan([(0, 1_000_000), (1_000_000, 1_001_000)])
    assert plan == [(0, 1_000_000), (1_000_000, 1_001_000)]


def test_segments_must_cover_rows_contiguously() -> None:
    hashes = np.zeros((10, 32), dtype=np.uint8)
    with pytest.raises(ValueError, match="contiguously"):
        MatchIndex(hashes, [IndexSegment(2, 10)])


def test_store_index_grows_incrementally_and_stays_exact(store: BankStore) -> None:
    rng = np.random.default_rng(11)
    store.create("b")
    all_rows = []
    for size in (SCAN_BELOW + 50, 700, 900, SCAN_BELOW):
        rows = rng.integers(0, 256, (size, 32), dtype=np.uint8)
        store.add("b", [BankEntry("pdq", bytes(r), "test") for r in rows])
        all_rows.append(rows)
        hashes = np.concatenate(all_rows)
        index = store.pdq_index("b")
        assert len(index) == len(hashes) == index.indexed
        q = np.stack([near(rng, hashes[-1], 12), near(rng, hashes[0], 30)])
        assert as_dict(index.query(q, 31)) == brute_force(hashes, q, 31)
        if size == SCAN_BELOW + 50:
            first_file = store.root / "b" / "index" / f"{index.segments[0].stem}.rows.npy"
            first_inode = first_file.stat().st_ino
        elif size == 700:  # a small append indexes the new rows only
            assert first_file.stat().st_ino == first_inode
            assert (index.segments[0].start, index.segments[0].end) == (0, SCAN_BELOW + 50)
    first_segment = store.pdq_index("b").segments[0]
    assert first_segment.rows is not None  # the large first batch has tables on disk
    files = sorted(p.name for p in (store.root / "b" / "index").iterdir())
    live = {
        f"{s.stem}.{part}.npy"
        for s in store.pdq_index("b").segments
        for part in ("rows", "offsets")
        if s.rows is not None
    }
    assert set(files) == live, "merged-away segment files are removed"


def is_mapped(a: np.ndarray) -> bool:
    base = a
    while base is not None:
        if isinstance(base, np.memmap | mmap.mmap):
            return True
        base = getattr(base, "base", None)
    return False


def test_index_files_are_memory_mapped(store: BankStore) -> None:
    rng = np.random.default_rng(3)
    store.create("m")
    rows = rng.integers(0, 256, (SCAN_BELOW, 32), dtype=np.uint8)
    store.add("m", [BankEntry("pdq", bytes(r)) for r in rows])
    index = BankStore.open(store.root).pdq_index("m")
    assert is_mapped(index.hashes)
    seg = index.segments[0]
    assert seg.rows is not None
    assert is_mapped(seg.rows)
    assert index.hashes.shape == (SCAN_BELOW, PDQ.nbytes)
