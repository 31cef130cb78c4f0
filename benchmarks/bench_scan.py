"""Batch scan throughput on generated synthetic conversations (tactic findings, hashed features,
running risk, persistence, attribution: everything ``groomwatch scan`` computes).

Target (issue 3): >= 100,000 messages/s on a 2-core machine, tactic findings included. Printed:

- ``single``: one process, :meth:`Detector.assess_many`;
- ``all cores``: :func:`groomwatch.detect.parallel.assess_parallel` with every core, wall time
  from the call (worker start included) to the last assessment: the figure for the target;
- the parts, in one process: hashing alone (the vectorised hasher on every message), tactic
  cues alone (the registry on every message, in batches as the scan reads them, and one
  message at a time as the streaming monitor does);
- with ``--cli``: ``groomwatch scan`` of the same conversations written as canonical JSONL, run
  as a command (reading, scoring, writing JSON lines), with 1 and with all workers;
- the load average before each figure (other work on the machine slows every figure).

With ``--jsonl`` only the command is timed, end to end as a user runs it on an archive:
``groomwatch scan FILE --workers N --output OUT`` on the generated conversations written as a
canonical JSONL file (the workers read the file in ranges: ``groomwatch.detect.parallel.
scan_jsonl``), start-up included, with the CPU time of all its processes and the load average
before and after; the start-up alone (the same command on a file of one conversation) is
printed first. ``--keep FILE`` keeps the scan's output there (to compare two versions).

Usage: ``python benchmarks/bench_scan.py [--messages N] [--workers N] [--cli | --jsonl]
[--keep FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from groomwatch.conversation import Conversation, Message
from groomwatch.detect import Detector
from groomwatch.detect.detector import BATCH_MESSAGES
from groomwatch.detect.parallel import assess_parallel, default_workers

WORDS = (  # noqa: SIM905 - a sentence of words reads better than a list
    "hey hi hello what are you doing today school game play match team coach "
    "homework music movie weekend friends party pizza bus late tomorrow morning "
    "tonight cool lol ok yes no maybe really nice great funny sister brother "
    "mom dad dog cat football practice library lunch"
).split()
TACTIC_LINES = (
    "how old are you",
    "don't tell your parents about this",
    "i can send you a gift card",
    "add me on snapchat",
    "send me a photo of you",
    "we could meet at the mall saturday",
    "you are so mature for your age",
)


def conversations(n_messages: int, seed: int = 0) -> list[Conversation]:
    rng = random.Random(seed)
    out: list[Conversation] = []
    total = 0
    while total < n_messages:
        n = rng.randint(10, 60)
        msgs = []
        for i in range(n):
            if rng.random() < 0.05:
                text = rng.choice(TACTIC_LINES)
            else:
                text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 12)))
            msgs.append(Message(text=text, author=f"u{i % 2}"))
        out.append(Conversation(id=f"c{len(out)}", messages=tuple(msgs)))
        total += n
    return out


CLI = "import sys; from groomwatch.cli import main; sys.argv[0] = 'groomwatch'; main()"
"""The ``groomwatch`` console script, run with this benchmark's interpreter."""


def cpu_seconds() -> float:
    """CPU time of this process and of its ended children (the scan's workers): on a busy
    machine it shows the work done apart from the waiting for a core."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} (1 min) {five:.2f} (5 min)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--cli", action="store_true", help="also time the groomwatch command")
    parser.add_argument(
        "--jsonl", action="store_true", help="only time groomwatch scan of a JSONL file"
    )
    parser.add_argument("--keep", type=Path, help="with --jsonl: keep the scan's output here")
    args = parser.parse_args()
    convs = conversations(args.messages)
    n_msgs = sum(len(c) for c in convs)
    print(f"scan: {n_msgs} messages in {len(convs)} conversations, {os.cpu_count()} cores")
    if args.jsonl:
        jsonl(convs, n_msgs, args.workers, args.keep)
        return
    det = Detector.load()
    list(det.assess_many(convs[:200]))  # warm up

    before = load()
    cpu = cpu_seconds()
    start = time.perf_counter()
    flagged = sum(a.flagged for a in det.assess_many(convs))
    single = time.perf_counter() - start
    cpu_us = (cpu_seconds() - cpu) / n_msgs * 1e6
    print(
        f"scan: single process {n_msgs / single:,.0f} messages/s ({single:.2f} s, "
        f"{cpu_us:.1f} us CPU per message; {before})"
    )

    before = load()
    cpu = cpu_seconds()
    start = time.perf_counter()
    flagged_par = sum(a.flagged for a in assess_parallel(convs, workers=args.workers))
    par = time.perf_counter() - start
    cpu_us = (cpu_seconds() - cpu) / n_msgs * 1e6
    print(
        f"scan: all cores ({args.workers} workers) {n_msgs / par:,.0f} messages/s "
        f"({par:.2f} s, worker start included, {cpu_us:.1f} us CPU per message in all "
        f"processes; target >= 100,000; {before})"
    )
    if flagged_par != flagged:
        raise SystemExit(f"parallel scan flagged {flagged_par}, single process {flagged}")
    print(f"scan: {flagged} conversations flagged")

    texts = [m.text for c in convs for m in c.messages]
    before = load()
    start = time.perf_counter()
    for i in range(0, len(texts), BATCH_MESSAGES):
        det.hasher.entries(texts[i : i + BATCH_MESSAGES])
    hashing = time.perf_counter() - start
    mode = "vectorised" if det.hasher.vectorised else "scikit-learn"
    print(f"scan: hashing alone ({mode}) {n_msgs / hashing:,.0f} messages/s ({before})")

    before = load()
    find_many = det.registry.find_many
    indexes = [i for c in convs for i in range(len(c.messages))]
    authors = [m.author for c in convs for m in c.messages]
    start = time.perf_counter()
    found = 0
    for i in range(0, len(texts), BATCH_MESSAGES):
        j = i + BATCH_MESSAGES
        found += sum(map(len, find_many(texts[i:j], indexes[i:j], authors[i:j]).values()))
    tactics = time.perf_counter() - start
    print(
        f"scan: tactic cues alone, in batches (as the scan) {n_msgs / tactics:,.0f} messages/s "
        f"({found} findings; {before})"
    )

    before = load()
    find = det.registry.find
    start = time.perf_counter()
    found = sum(len(find(m.text, i, m.author)) for c in convs for i, m in enumerate(c.messages))
    tactics = time.perf_counter() - start
    print(
        f"scan: tactic cues alone, message by message (as the monitor) "
        f"{n_msgs / tactics:,.0f} messages/s ({found} findings; {before})"
    )

    if args.cli:
        cli(convs, n_msgs, args.workers)


def write_file(convs: list[Conversation], path: Path) -> None:
    """The conversations as canonical JSONL, one a line."""
    with path.open("w", encoding="utf-8") as fh:
        for conv in convs:
            fh.write(json.dumps(conv.to_dict(), ensure_ascii=False) + "\n")


def cli(convs: list[Conversation], n_msgs: int, workers: int) -> None:
    """``groomwatch scan`` as a command on a JSONL file of the conversations."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "chats.jsonl"
        write_file(convs, src)
        size = src.stat().st_size / 1e6
        outputs = []
        for n in sorted({1, workers}):
            out = Path(tmp) / f"out{n}.jsonl"
            command = [sys.executable, "-c", CLI, "scan", str(src), "-o", str(out)]
            before = load()
            start = time.perf_counter()
            subprocess.run([*command, "--workers", str(n)], check=True, capture_output=True)
            took = time.perf_counter() - start
            print(
                f"scan: groomwatch scan of {size:.0f} MB JSONL, {n} worker(s): "
                f"{n_msgs / took:,.0f} messages/s ({took:.2f} s, start-up included; {before})"
            )
            outputs.append(out.read_bytes())
        if len(set(outputs)) != 1:
            raise SystemExit("groomwatch scan wrote different output with more workers")


def jsonl(convs: list[Conversation], n_msgs: int, workers: int, keep: Path | None) -> None:
    """``groomwatch scan FILE --workers N --output OUT`` end to end on a JSONL file of the
    conversations, after the same command on a file of one conversation (start-up alone)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, one, out = Path(tmp) / "chats.jsonl", Path(tmp) / "one.jsonl", Path(tmp) / "out.jsonl"
        write_file(convs, src)
        write_file(convs[:1], one)
        size = src.stat().st_size / 1e6

        def scan(path: Path) -> tuple[float, float, str, str]:
            command = [sys.executable, "-c", CLI, "scan", str(path), "--workers", str(workers)]
            before = load()
            cpu = cpu_seconds()
            start = time.perf_counter()
            subprocess.run([*command, "--output", str(out)], check=True, capture_output=True)
            took = time.perf_counter() - start
            return took, cpu_seconds() - cpu, before, load()

        start_took, start_cpu, before, after = scan(one)
        print(
            f"scan: groomwatch scan of one conversation, {workers} workers (start-up alone): "
            f"{start_took:.2f} s, {start_cpu:.2f} s CPU (load before: {before}; after: {after})"
        )
        took, cpu, before, after = scan(src)
        print(
            f"scan: groomwatch scan of {size:.0f} MB JSONL, {workers} workers, end to end: "
            f"{n_msgs / took:,.0f} messages/s ({took:.2f} s, start-up included; target >= "
            f"100,000); {(cpu - start_cpu) / n_msgs * 1e6:.1f} us CPU per message in all "
            f"processes beyond the start-up's"
        )
        print(f"scan: load before: {before}; after: {after}")
        if keep is not None:
            shutil.copyfile(out, keep)


if __name__ == "__main__":
    main()
