"""Speed of the tactic registry: ``TacticRegistry.find`` on synthetic chat messages, one core.

Target (DESIGN: batch scans of >= 100,000 messages/s overall): >= 200,000 typical messages/s.
Messages are generated: ordinary chat words, with about 5% of messages carrying a tactic cue
(neutral phrases such as "dont tell ur mom" or "add me on snap"). Prints messages/s for the
ordinary mix, for cue-only messages, and the cost of :func:`prepare` alone.
"""

from __future__ import annotations

import random
import sys
import time

from groomwatch.detect.tactics import default_registry, prepare

WORDS = (
    "hi hey lol ok yeah no what u r you i im the a to and is it that so do dont know like "
    "just cool haha omg wat how was my day good bad school game play playing fun tired "
    "home later tomorrow today tonight sure maybe idk why when where who this thats really "
    "nice wow yes nah going gonna wanna want think see lmao brb gtg k kk thanks ty np lunch "
    "dinner movie music song listen watch watching friend mom dad dog cat bored busy 2 4 "
    "was were are be been can could would should will can't won't it's i'm you're"
).split()
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
            out.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 12))))
    return out


def rate(texts: list[str], repeat: int = 3) -> float:
    find = default_registry().find
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for i, text in enumerate(texts):
            find(text, i)
        best = min(best, time.perf_counter() - start)
    return len(texts) / best


def main() -> int:
    registry = default_registry()
    typical = messages(200_000, 0.05)
    cued = messages(20_000, 1.0, seed=11)
    findings = sum(len(registry.find(t, i)) for i, t in enumerate(typical))
    start = time.perf_counter()
    for t in typical:
        prepare(t)
    prep_rate = len(typical) / (time.perf_counter() - start)
    typical_rate = rate(typical)
    cued_rate = rate(cued)
    mean_len = sum(map(len, typical)) / len(typical)
    print(f"messages: {len(typical):,} (mean {mean_len:.0f} chars, 5% with a cue)")
    print(f"findings on them: {findings:,}")
    print(f"prepare only:      {prep_rate:>12,.0f} messages/s")
    print(f"registry.find:     {typical_rate:>12,.0f} messages/s  (target >= 200,000)")
    print(f"cue messages only: {cued_rate:>12,.0f} messages/s")
    return 0 if typical_rate >= 200_000 else 1


if __name__ == "__main__":
    sys.exit(main())
