"""Attribution: who in a conversation is most likely the groomer (PAN 2012 problem 1), and which
messages are the grooming ones (problem 2).

Each author accumulates evidence from their own messages: first the scores of the tactic findings
in them (tactics have a direction: asking for secrecy, a photo or a meeting is what the groomer
does), minus the findings of ``victim_age_signal`` (the writer says or implies being under 18,
which points away from them); then, to break ties, how far each message's own risk is above one
half, which points away from its author too (:data:`RISK_POINTS_TO_VICTIM`). The text model
alone is a weak guide to *who* is the groomer: it was trained on labels of whole conversations,
and in them the child's (or decoy's) side is as typical of a grooming chat as the groomer's, or
more. Nothing here decides anything about a person: it points a human reviewer at the
messages to read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from groomwatch.detect.tactics.base import Finding

VICTIM_TACTIC = "victim_age_signal"
MESSAGE_EVIDENCE = 0.5
"""A message whose own risk is at or above this is grooming evidence by itself."""

RISK_POINTS_TO_VICTIM = True
"""The text model's risk of single messages points at the child's side, not the groomer's: in
each of the six two-person predator conversations of the PAN 2012 excerpt (``pan12-toy``, train
and test) that the shipped model warns about, the victim's messages had the higher mean risk
(0.57-0.70 against 0.43-0.63). The model learned from whole segments, whose positives are
decoys writing as teenagers and whose negatives have no teenage voices, so a message that
sounds like a teenager scores high. Among authors with equal tactic evidence, the suspect is
therefore the one with less message-risk evidence (docs/research.md, "Attribution")."""

Tally = tuple[float, float, int]
"""Per author: tactic evidence (findings minus victim signals), message-risk evidence, messages."""


def message_evidence(message_risk: float, findings: Iterable[Finding]) -> tuple[float, float]:
    """``(tactic evidence, message-risk evidence)`` contributed by one message to its author."""
    tactic = 0.0
    for f in findings:
        tactic += -f.score if f.tactic == VICTIM_TACTIC else f.score
    return tactic, 2.0 * max(0.0, message_risk - MESSAGE_EVIDENCE)


def add_to_tally(
    tally: dict[str, Tally], author: str, message_risk: float, findings: Iterable[Finding]
) -> None:
    tactic, risk = message_evidence(message_risk, findings)
    t0, r0, n0 = tally.get(author, (0.0, 0.0, 0))
    tally[author] = (t0 + tactic, r0 + risk, n0 + 1)


def choose_suspect(tally: Mapping[str, Tally]) -> str | None:
    """The author with the most tactic evidence, ties going to the *least* message-risk
    evidence, then to the author who wrote more, then to the first to write; ``None`` without
    authors. (Why the least: see :data:`RISK_POINTS_TO_VICTIM`.)"""
    best: str | None = None
    best_key: tuple[float, float, int] | None = None
    for author, (tactic, risk, n) in tally.items():
        key = (tactic, -risk, n)
        if best_key is None or key > best_key:
            best, best_key = author, key
    return best


def is_grooming_message(message_risk: float, findings: Iterable[Finding]) -> bool:
    """A message that is evidence by itself: high own risk, or a tactic finding other than the
    victim's own age signal."""
    if message_risk >= MESSAGE_EVIDENCE:
        return True
    return any(f.tactic != VICTIM_TACTIC for f in findings)
