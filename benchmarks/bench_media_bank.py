"""Benchmark: PDQ matching against a bank of 1,000,000 random hashes.

Builds a real bank on disk through :class:`BankStore` (in batches, as ``media bank import`` does),
plants near-duplicate queries (0-31 bits from a bank entry) to check recall, and measures:

- build time (store append + index segments, and the in-memory index build alone);
- peak RSS of the building process, and of a separate serving process that opens the store
  (memory-mapped) and answers queries;
- queries per second, one hash per query and with all 8 dihedral variants per query;
- recall on planted near-duplicates and hits on random queries.

Targets on a 2-core machine: >= 1,000 queries/s (one hash each), <= 2 GB peak RSS. Queries run
one at a time on one core. On a shared machine the wall-clock rate falls with the load average
(printed); queries per CPU-second show the cost of a query itself.

    python benchmarks/bench_media_bank.py [--size 1000000] [--queries 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from groomwatch.media.bank import BankEntry, BankStore
from groomwatch.media.index import MatchIndex

THRESHOLD = 31
QPS_TARGET = 1000
RSS_TARGET_MB = 2048


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM; ``ru_maxrss`` survives ``exec`` on Linux, so a
    child would report its parent's peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def plant(rng: np.random.Generator, hashes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` queries, each a bank row with 0..THRESHOLD random bits flipped; and their rows."""
    rows = rng.integers(0, len(hashes), n)
    queries = np.array(hashes[rows], dtype=np.uint8)
    for i in range(n):
        bits = np.unpackbits(queries[i])
        flip = rng.choice(256, size=int(rng.integers(0, THRESHOLD + 1)), replace=False)
        bits[flip] ^= 1
        queries[i] = np.packbits(bits)
    return queries, rows


def serve(root: str, queries_path: str) -> None:
    """Run in a fresh process: open the store, answer the queries, print figures as JSON."""
    start = time.perf_counter()
    store = BankStore.open(root, create=False)
    index = store.pdq_index("bench")
    opened = time.perf_counter() - start
    queries = np.load(queries_path)
    rng = np.random.default_rng(1)
    # One hash per query.
    start, cpu = time.perf_counter(), time.process_time()
    found = 0
    for q in queries:
        found += len(index.query(q[None, :], THRESHOLD))
    single = len(queries) / (time.perf_counter() - start)
    single_cpu = len(queries) / (time.process_time() - cpu)
    # Eight variants per query (the planted hash plus seven unrelated ones, as a rotated or
    # mirrored upload gives).
    n8 = min(len(queries), 500)
    batches = [
        np.vstack([q[None, :], rng.integers(0, 256, (7, 32), dtype=np.uint8)]) for q in queries[:n8]
    ]
    start, cpu = time.perf_counter(), time.process_time()
    for b in batches:
        index.query(b, THRESHOLD)
    eight = n8 / (time.perf_counter() - start)
    eight_cpu = n8 / (time.process_time() - cpu)
    print(
        json.dumps(
            {
                "open_s": opened,
                "qps_1": single,
                "qps_8": eight,
                "qps_1_cpu": single_cpu,
                "qps_8_cpu": eight_cpu,
                "hits": found,
                "peak_rss_mb": peak_rss_mb(),
                "segments": len(index.segments),
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=200_000)
    parser.add_argument("--serve", nargs=2, metavar=("ROOT", "QUERIES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve)
        return 0

    rng = np.random.default_rng(0)
    hashes = rng.integers(0, 256, (args.size, 32), dtype=np.uint8)
    with tempfile.TemporaryDirectory(prefix="gw-bench-") as tmp:
        store = BankStore.open(Path(tmp) / "banks")
        store.create("bench")
        start = time.perf_counter()
        for i in range(0, args.size, args.batch):
            block = hashes[i : i + args.batch]
            entries = [BankEntry("pdq", r.tobytes(), "bench", "2024-01-01") for r in block]
            store.add("bench", entries)
            del entries
        build_store = time.perf_counter() - start
        segments = [(s.start, s.end) for s in store.pdq_index("bench").segments]
        start = time.perf_counter()
        MatchIndex.build(hashes)
        build_index = time.perf_counter() - start
        build_rss = peak_rss_mb()

        # Recall on planted near-duplicates, and hits on random queries, in this process.
        index = store.pdq_index("bench")
        planted, rows = plant(rng, hashes, args.queries)
        recalled = sum(
            int(r in set(index.query(q[None, :], THRESHOLD).rows.tolist()))
            for q, r in zip(planted, rows, strict=True)
        )
        random_q = rng.integers(0, 256, (200, 32), dtype=np.uint8)
        random_hits = sum(len(index.query(q[None, :], THRESHOLD)) for q in random_q)

        queries_path = str(Path(tmp) / "queries.npy")
        np.save(queries_path, planted)
        out = subprocess.run(
            [sys.executable, __file__, "--serve", str(Path(tmp) / "banks"), queries_path],
            check=True,
            capture_output=True,
            text=True,
        )
        served = json.loads(out.stdout)
        disk_mb = sum(p.stat().st_size for p in (Path(tmp) / "banks").rglob("*")) / 2**20

    print(f"bank size                      {args.size:,} random PDQ hashes, threshold {THRESHOLD}")
    print(f"build: store append + index     {build_store:.1f} s in {args.batch:,}-hash batches")
    print(f"       index segments           {segments}")
    print(f"build: in-memory index alone    {build_index:.2f} s")
    print(f"peak RSS, building process      {build_rss:.0f} MB (includes the 1M test array)")
    print(f"on disk                         {disk_mb:.0f} MB")
    print(f"serving process: open store     {served['open_s'] * 1000:.1f} ms")
    print(f"serving process: peak RSS       {served['peak_rss_mb']:.0f} MB")
    print(f"queries/s, 1 hash per query     {served['qps_1']:,.0f}   (target >= {QPS_TARGET:,})")
    print(f"queries/s, 8 dihedral variants  {served['qps_8']:,.0f}")
    print(
        f"queries per CPU-second          {served['qps_1_cpu']:,.0f} (1 hash), "
        f"{served['qps_8_cpu']:,.0f} (8 variants), not counting time spent waiting for a CPU"
    )
    print(f"load average (1, 5, 15 min)     {os.getloadavg()}")
    print(f"recall, planted 0-31 bits       {recalled}/{args.queries}")
    print(f"hits on 200 random queries      {random_hits}")
    ok = (
        served["qps_1"] >= QPS_TARGET
        and max(build_rss, served["peak_rss_mb"]) <= RSS_TARGET_MB
        and recalled == args.queries
    )
    print("targets met" if ok else "TARGETS NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
