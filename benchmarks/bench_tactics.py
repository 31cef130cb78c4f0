"""Speed of the tactic registry: ``TacticRegistry.find`` on synthetic chat messages, one core.

Target (DESIGN: batch scans of >= 100,000 messages/s overall): >= 200,000 typical messages/s.
Messages are generated: ordinary chat words drawn with Zipf-like frequencies (rank r has weight
1/r, as in real chat), with about 5% of messages carrying a tactic cue (neutral phrases such as
"dont tell ur mom" or "add me on snap"). Prints messages/s for the ordinary mix, for cue-only
messages, and the cost of :func:`prepare` alone. When ``../shared/data/vtpan-segments-dev.csv`` is
beside the project, it also times real chat: its segments cut into 8-word pseudo-messages (the
text is only read, never printed).
"""

from __future__ import annotations

import csv
import os
import random
import sys
import time
from pathlib import Path

from groomwatch.detect.tactics import default_registry, prepare

# Roughly in order of frequency in chat (most common first).
WORDS = [
    "i",
    "u",
    "you",
    "the",
    "to",
    "a",
    "lol",
    "and",
    "it",
    "is",
    "im",
    "that",
    "so",
    "what",
    "my",
    "me",
    "no",
    "ok",
    "yeah",
    "do",
    "dont",
    "in",
    "of",
    "like",
    "just",
    "hi",
    "hey",
    "r",
    "was",
    "are",
    "be",
    "know",
    "not",
    "have",
    "it's",
    "i'm",
    "can",
    "haha",
    "get",
    "go",
    "ur",
    "this",
    "for",
    "on",
    "with",
    "how",
    "good",
    "up",
    "want",
    "think",
    "see",
    "too",
    "well",
    "why",
    "now",
    "oh",
    "really",
    "all",
    "lmao",
    "when",
    "out",
    "got",
    "sure",
    "then",
    "there",
    "fun",
    "one",
    "will",
    "would",
    "could",
    "should",
    "where",
    "who",
    "thats",
    "nice",
    "wow",
    "yes",
    "nah",
    "going",
    "gonna",
    "wanna",
    "time",
    "day",
    "back",
    "need",
    "cool",
    "omg",
    "wat",
    "idk",
    "some",
    "school",
    "home",
    "tired",
    "bored",
    "busy",
    "today",
    "tonight",
    "tomorrow",
    "later",
    "game",
    "play",
    "playing",
    "music",
    "song",
    "watch",
    "watching",
    "movie",
    "friend",
    "mom",
    "dad",
    "dog",
    "cat",
    "lunch",
    "dinner",
    "bad",
    "thanks",
    "ty",
    "np",
    "brb",
    "gtg",
    "k",
    "kk",
    "2",
    "4",
    "were",
    "been",
    "can't",
    "won't",
    "you're",
    "love",
    "call",
    "text",
    "work",
]
WEIGHTS = [1.0 / (rank + 1) for rank in range(len(WORDS))]
CUES = (
    "dont tell ur mom ok",
    "add me on snap",
    "send me a pic",
    "ur so mature for ur age",
    "we should meet up sometime",
    "are your parents home",
    "i can buy you a new phone",
    "im 13",
    "its our little secret",
    "turn on ur cam",
)


def messages(n: int, cue_share: float, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        if rng.random() < cue_share:
            out.append(rng.choice(CUES))
        else:
            out.append(" ".join(rng.choices(WORDS, WEIGHTS, k=rng.randint(2, 12))))
    return out


def corpus_messages(limit: int = 100_000) -> list[str]:
    """Real chat from the shared dev set, cut into 8-word pseudo-messages ([] when absent)."""
    path = Path(__file__).resolve().parents[2] / "shared" / "data" / "vtpan-segments-dev.csv"
    if not path.is_file():
        return []
    out: list[str] = []
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            words = row["segment"].split()
            out.extend(" ".join(words[i : i + 8]) for i in range(0, len(words), 8))
            if len(out) >= limit:
                break
    return out[:limit]


def rate(texts: list[str], repeat: int = 3) -> float:
    """Messages per second of CPU time of this process (best of ``repeat``): the machine may be
    shared, and CPU time is what one core spends, whatever else runs."""
    find = default_registry().find
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for i, text in enumerate(texts):
            find(text, i)
        best = min(best, time.process_time() - start)
    return len(texts) / best


def main() -> int:
    registry = default_registry()
    typical = messages(200_000, 0.05)
    cued = messages(20_000, 1.0, seed=11)
    findings = sum(len(registry.find(t, i)) for i, t in enumerate(typical))
    start = time.process_time()
    for t in typical:
        prepare(t)
    prep_rate = len(typical) / (time.process_time() - start)
    typical_rate = rate(typical)
    cued_rate = rate(cued)
    mean_len = sum(map(len, typical)) / len(typical)
    print(f"messages: {len(typical):,} (mean {mean_len:.0f} chars, 5% with a cue)")
    print(f"findings on them: {findings:,}")
    print(f"prepare only:      {prep_rate:>12,.0f} messages/s")
    verdict = "met" if typical_rate >= 200_000 else "NOT met (is the machine busy? see load)"
    print(f"registry.find:     {typical_rate:>12,.0f} messages/s  (target >= 200,000: {verdict})")
    print(f"cue messages only: {cued_rate:>12,.0f} messages/s")
    real = corpus_messages()
    if real:
        real_rate = rate(real)
        real_findings = sum(len(registry.find(t, i)) for i, t in enumerate(real))
        print(
            f"dev-set chat:      {real_rate:>12,.0f} messages/s  ({len(real):,} pseudo-messages, "
            f"{real_findings:,} findings)"
        )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average (1 min) while measuring: {load:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
