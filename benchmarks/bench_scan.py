"""Batch scan throughput: messages per second through ``Detector.assess_many`` (tactic findings,
hashed features, running risk, persistence, attribution), on generated synthetic conversations.

Target: >= 100,000 messages/s on a 2-core machine. Usage: ``python benchmarks/bench_scan.py
[--messages N]``.
"""

from __future__ import annotations

import argparse
import random
import time

from groomwatch.conversation import Conversation, Message
from groomwatch.detect import Detector

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args()
    det = Detector.load()
    convs = conversations(args.messages)
    n_msgs = sum(len(c) for c in convs)
    list(det.assess_many(convs[:50]))  # warm up
    start = time.perf_counter()
    flagged = sum(a.flagged for a in det.assess_many(convs))
    elapsed = time.perf_counter() - start
    print(f"scan: {n_msgs} messages in {len(convs)} conversations, {elapsed:.2f} s")
    print(f"scan: {n_msgs / elapsed:,.0f} messages/s (target >= 100,000); {flagged} flagged")
    start = time.perf_counter()
    found = sum(
        len(det.registry.find(m.text, i, m.author)) for c in convs for i, m in enumerate(c.messages)
    )
    tactics_only = time.perf_counter() - start
    print(f"scan: tactic cues alone {n_msgs / tactics_only:,.0f} messages/s ({found} findings)")
    start = time.perf_counter()
    det.hasher.transform([m.text for c in convs for m in c.messages])
    hashing_only = time.perf_counter() - start
    print(f"scan: hashing alone {n_msgs / hashing_only:,.0f} messages/s")


if __name__ == "__main__":
    main()
