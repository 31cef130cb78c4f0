"""Attribution: who in a conversation is most likely the groomer (PAN 2012 problem 1), and which
messages are the grooming ones (problem 2).

Each author accumulates evidence from their own messages: how far each message's own risk is above
one half, plus the scores of the tactic findings in it. Findings of ``victim_age_signal`` (the
writer says or implies being under 18) count against the writer being the groomer. Nothing here
decides anything about a person: it points a human reviewer at the messages to read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from groomwatch.detect.tactics.base import Finding

VICTIM_TACTIC = "victim_age_signal"
MESSAGE_EVIDENCE = 0.5
"""A message whose own risk is at or above this is grooming evidence by itself."""


def message_evidence(message_risk: float, findings: Iterable[Finding]) -> tuple[float, float]:
    """``(evidence, victim)`` contributed by one message to its author's tally."""
    evidence = 2.0 * max(0.0, message_risk - MESSAGE_EVIDENCE)
    victim = 0.0
    for f in findings:
        if f.tactic == VICTIM_TACTIC:
            victim += f.score
        else:
            evidence += f.score
    return evidence, victim


def choose_suspect(tally: Mapping[str, tuple[float, float, int]]) -> str | None:
    """The author with the most evidence against them (``evidence - victim``), ties going to the
    author who wrote more, then the first to write; ``None`` when there are no authors."""
    best: str | None = None
    best_key: tuple[float, int] | None = None
    for author, (evidence, victim, n) in tally.items():
        key = (evidence - victim, n)
        if best_key is None or key > best_key:
            best, best_key = author, key
    return best


def is_grooming_message(message_risk: float, findings: Iterable[Finding]) -> bool:
    """A message that is evidence by itself: high own risk, or a tactic finding other than the
    victim's own age signal."""
    if message_risk >= MESSAGE_EVIDENCE:
        return True
    return any(f.tactic != VICTIM_TACTIC for f in findings)
