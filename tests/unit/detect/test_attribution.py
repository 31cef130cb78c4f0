"""Who is the suspect: tactic evidence first, then the author whose messages score *less*."""

from __future__ import annotations

from groomwatch.detect.attribution import (
    add_to_tally,
    choose_suspect,
    is_grooming_message,
    message_evidence,
)
from groomwatch.detect.tactics.base import Finding


def _finding(tactic: str, score: float = 1.0, message: int = 0) -> Finding:
    return Finding(tactic=tactic, message=message, score=score, evidence="x", start=0, end=1)


def test_tactic_evidence_decides_first() -> None:
    tally = {"adult": (2.0, 0.0, 5), "child": (0.0, 9.0, 50)}
    assert choose_suspect(tally) == "adult"


def test_the_victims_age_signal_counts_against_the_writer() -> None:
    tactic, _ = message_evidence(0.9, [_finding("victim_age_signal", 1.0)])
    assert tactic == -1.0


def test_equal_tactics_go_to_the_author_with_less_message_risk() -> None:
    """The text model's message risk points at the child's side (RISK_POINTS_TO_VICTIM)."""
    tally: dict[str, tuple[float, float, int]] = {}
    add_to_tally(tally, "teen-sounding", 0.95, [])
    add_to_tally(tally, "other", 0.55, [])
    assert choose_suspect(tally) == "other"


def test_then_the_author_who_wrote_more_then_the_first() -> None:
    assert choose_suspect({"a": (0.0, 0.0, 3), "b": (0.0, 0.0, 4)}) == "b"
    assert choose_suspect({"a": (0.0, 0.0, 4), "b": (0.0, 0.0, 4)}) == "a"
    assert choose_suspect({}) is None


def test_grooming_messages_are_evidence_by_themselves() -> None:
    assert is_grooming_message(0.7, [])
    assert not is_grooming_message(0.2, [])
    assert is_grooming_message(0.2, [_finding("secrecy")])
    assert not is_grooming_message(0.2, [_finding("victim_age_signal")])
