"""Streaming latency: the time of one ``Monitor.update`` (one chat message: tactics, hashing,
running sums, persistence), and of a state save and restore as the HTTP API does per message.

Target: median update <= 1 ms. Usage: ``python benchmarks/bench_stream.py [--messages N]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scan import conversations
from groomwatch.detect import Detector


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=5_000)
    args = parser.parse_args()
    det = Detector.load()
    convs = conversations(args.messages, seed=1)
    updates: list[float] = []
    saves: list[float] = []
    state_sizes: list[int] = []
    for conv in convs:
        mon = det.monitor()
        for msg in conv.messages:
            t0 = time.perf_counter()
            mon.update(msg)
            updates.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        blob = json.dumps(mon.state_dict())
        det.monitor(state=json.loads(blob))
        saves.append(time.perf_counter() - t0)
        state_sizes.append(len(blob))
    updates.sort()
    p95 = updates[int(0.95 * (len(updates) - 1))]
    print(f"stream: {len(updates)} updates in {len(convs)} conversations")
    print(
        f"stream: update median {statistics.median(updates) * 1e3:.3f} ms, p95 {p95 * 1e3:.3f} ms"
        " (target median <= 1 ms)"
    )
    print(
        f"stream: state save+restore median {statistics.median(saves) * 1e3:.3f} ms, "
        f"state median {statistics.median(state_sizes) / 1024:.1f} KiB, "
        f"max {max(state_sizes) / 1024:.1f} KiB"
    )


if __name__ == "__main__":
    main()
