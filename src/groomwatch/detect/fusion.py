"""Fusion of the learned text model with explicit evidence: the risk a conversation carries.

The text model (:mod:`groomwatch.detect.model`) learned the style of its corpus; explicit tactic
evidence is what transfers to other chat. The risk combines two probabilities by noisy-OR::

    language = sigmoid(prior + ramp * (z_text - prior)),   ramp = min(1, tokens / ramp_tokens)
    pattern  = sigmoid(offset + max_a g_a)                 (0 when no author has a pattern)
    risk     = 1 - (1 - language) * (1 - pattern)

- ``z_text`` is the text model's calibrated logit after the tokens seen so far; with little text it
  swings to the extremes, so it is shrunk towards ``prior`` (the training set's log-odds of a
  grooming conversation) until ``ramp_tokens`` tokens have been seen (chosen by cross-validation).
- ``g_a`` is the *grooming pattern* of author ``a``: the sum of the severity weights of the
  distinct tactics found in ``a``'s own messages (a tactic counts once however often it recurs),
  plus context: ``victim_context`` when *another* participant signals being under 18
  (``victim_age_signal``), ``role_context`` when ``a`` is declared an adult (``role`` adult or age
  >= 18) and another participant a child (``role`` child or age < 18). An author needs at least
  ``min_tactics`` distinct tactics (not counting ``victim_age_signal``) to have a pattern at all:
  one tactic, with or without context, never makes a pattern. A pattern says that *one* person
  used several tactics, so messages without an author make no pattern by default
  (``anonymous_patterns``): pooled, the findings of both sides of an unattributed text look like
  one person's, and on the authorless training corpus they did (142 ordinary segments had a
  "pattern"). Such text is left to the text model. Age signals in messages without an author
  still count as context for the authors' patterns (who said them is unknown).
- ``offset`` places the warning on the pattern scale: ``offset = logit(threshold) -
  pattern_to_warn``, so a pattern of strength ``pattern_to_warn`` reaches the threshold by
  itself. The corpus cannot calibrate it (its segments have no authors, so they make no
  pattern); the strength is a judgement from the seed documents (a combination of signs, not one
  sign), checked on hand-written grooming and ordinary chats (docs/research.md, round 5). Tactics
  in ``sufficient`` (extortion: a threat to expose someone) make a pattern on their own, at
  least ``pattern_to_warn`` strong. Older models calibrated ``offset`` on pooled training
  findings instead (the highest value at which at most ``max_pattern_fp`` negatives reached the
  threshold through the pattern alone) and have no ``sufficient`` tactics.

Every term is non-decreasing in added evidence (a new finding can only add a tactic to a set or a
context flag), so the risk is monotone in tactic evidence. The state (:class:`PatternTracker`) is
small, holds no text and is updated in O(authors) per message.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from groomwatch.conversation import Participant, Role
from groomwatch.detect.tactics.base import Finding
from groomwatch.errors import ModelError

VICTIM_TACTIC = "victim_age_signal"

DEFAULT_SEVERITY: dict[str, float] = {
    "extortion": 2.0,
    "image_request": 2.0,
    "secrecy": 2.0,
    "meeting": 2.0,
    "isolation": 2.0,
    "sexualisation": 1.5,
    "age_or_identity_deception": 1.5,
    "gifts_and_money": 1.5,
    "platform_switch": 1.0,
    "trust_building": 0.5,
    "personal_information": 0.5,
}
"""Severity of each tactic in the pattern score (log-odds). The heaviest are the acts the seed
documents put at the core of grooming and extortion (demands for images, secrecy, isolation,
arranging to meet, threats); flattery and small talk about school or family are common in ordinary
chat and weigh least."""

ADULT_AGE = 18


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def logit(p: float) -> float:
    p = min(max(p, 1e-12), 1.0 - 1e-12)
    return math.log(p / (1.0 - p))


@dataclass(frozen=True)
class FusionConfig:
    """The fusion's constants (stored in ``model.json`` under ``fusion``)."""

    prior: float
    offset: float
    ramp_tokens: float = 0.0
    severity: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_SEVERITY))
    victim_context: float = 1.0
    role_context: float = 1.5
    min_tactics: int = 2
    anonymous_patterns: bool = False
    """Whether the findings of messages without an author make a pattern (as one unknown
    author). Off in models trained since this option exists; models saved before it had the
    behaviour on and keep it."""
    pattern_to_warn: float | None = None
    """The pattern strength (sum of severities plus context) that reaches the warning threshold
    by itself, when ``offset`` was set from it (``offset = logit(threshold) - pattern_to_warn``);
    ``None`` when the offset was calibrated on pooled training findings (older models)."""
    sufficient: tuple[str, ...] = ()
    """Tactics that make a pattern on their own, at least ``pattern_to_warn`` strong: a threat to
    expose someone (``extortion``) needs a reviewer whatever else was said."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "prior": self.prior,
            "offset": self.offset,
            "ramp_tokens": self.ramp_tokens,
            "severity": dict(self.severity),
            "victim_context": self.victim_context,
            "role_context": self.role_context,
            "min_tactics": self.min_tactics,
            "anonymous_patterns": self.anonymous_patterns,
            "pattern_to_warn": self.pattern_to_warn,
            "sufficient": list(self.sufficient),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FusionConfig:
        try:
            return cls(
                prior=float(data["prior"]),
                offset=float(data["offset"]),
                ramp_tokens=float(data["ramp_tokens"]),
                severity={str(k): float(v) for k, v in dict(data["severity"]).items()},
                victim_context=float(data["victim_context"]),
                role_context=float(data["role_context"]),
                min_tactics=int(data["min_tactics"]),
                anonymous_patterns=bool(data.get("anonymous_patterns", True)),
                pattern_to_warn=(
                    None if data.get("pattern_to_warn") is None else float(data["pattern_to_warn"])
                ),
                sufficient=tuple(str(t) for t in data.get("sufficient", ())),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"incomplete fusion settings in the model: {exc}") from exc

    def ramp(self, tokens: float) -> float:
        """The weight of the text model after ``tokens`` tokens."""
        if self.ramp_tokens <= 0:
            return 1.0
        return min(1.0, tokens / self.ramp_tokens)

    def language(self, text_logit: float, tokens: float) -> float:
        """The text model's probability, shrunk towards the prior by the evidence seen."""
        return sigmoid(self.prior + self.ramp(tokens) * (text_logit - self.prior))


def is_adult(p: Participant) -> bool:
    return p.role == Role.ADULT or (p.age is not None and p.age >= ADULT_AGE)


def is_minor(p: Participant) -> bool:
    return p.role == Role.CHILD or (p.age is not None and p.age < ADULT_AGE)


@dataclass(frozen=True, slots=True)
class PatternScore:
    """The strongest author's pattern: who, which tactics, and the context terms (log-odds)."""

    author: str | None
    tactics: tuple[str, ...]
    tactic_logit: float
    context_logit: float
    victim: bool
    roles: bool


class PatternTracker:
    """Per-author distinct tactics and context flags of one conversation, updated per message."""

    def __init__(
        self, config: FusionConfig, adults: Iterable[str] = (), minors: Iterable[str] = ()
    ) -> None:
        self.config = config
        self.adults = frozenset(adults)
        self.minors = frozenset(minors)
        self.own: dict[str | None, set[str]] = {}
        self.victim_by: set[str | None] = set()
        self._best: PatternScore | None = None

    @classmethod
    def for_participants(
        cls, config: FusionConfig, participants: Sequence[Participant]
    ) -> PatternTracker:
        return cls(
            config,
            adults=[p.id for p in participants if is_adult(p)],
            minors=[p.id for p in participants if is_minor(p)],
        )

    def add(self, author: str | None, findings: Iterable[Finding]) -> None:
        """Record the findings of one message (or unit) written by ``author``."""
        changed = False
        for f in findings:
            if f.tactic == VICTIM_TACTIC:
                if author not in self.victim_by:
                    self.victim_by.add(author)
                    changed = True
            elif f.tactic in self.config.severity:
                tactics = self.own.setdefault(author, set())
                if f.tactic not in tactics:
                    tactics.add(f.tactic)
                    changed = True
        if changed:
            self._best = self._score()

    def _score(self) -> PatternScore | None:
        cfg = self.config
        best: PatternScore | None = None
        for author, tactics in self.own.items():
            alone = cfg.pattern_to_warn is not None and not tactics.isdisjoint(cfg.sufficient)
            if (len(tactics) < cfg.min_tactics and not alone) or (
                author is None and not cfg.anonymous_patterns
            ):
                continue
            victim = any(v != author or v is None for v in self.victim_by)
            roles = author in self.adults and any(m != author for m in self.minors)
            t = sum(cfg.severity[name] for name in tactics)
            if alone and cfg.pattern_to_warn is not None:
                t = max(t, cfg.pattern_to_warn)
            c = cfg.victim_context * victim + cfg.role_context * roles
            score = PatternScore(author, tuple(sorted(tactics)), t, c, victim, roles)
            if best is None or t + c > best.tactic_logit + best.context_logit:
                best = score
        return best

    @property
    def best(self) -> PatternScore | None:
        return self._best

    def components(self) -> tuple[float, float]:
        """``(tactics, context)``: the pattern probability without context, and what the context
        adds to it (both 0 without a pattern)."""
        b = self._best
        if b is None:
            return 0.0, 0.0
        base = sigmoid(self.config.offset + b.tactic_logit)
        return base, sigmoid(self.config.offset + b.tactic_logit + b.context_logit) - base

    def probability(self) -> float:
        b = self._best
        if b is None:
            return 0.0
        return sigmoid(self.config.offset + b.tactic_logit + b.context_logit)

    def state_dict(self) -> dict[str, Any]:
        return {
            "adults": sorted(self.adults),
            "minors": sorted(self.minors),
            "own": [[a, sorted(t)] for a, t in self.own.items()],
            "victim_by": list(self.victim_by),
        }

    @classmethod
    def from_state(cls, config: FusionConfig, state: Mapping[str, Any]) -> PatternTracker:
        """Raises ``KeyError``/``TypeError``/``ValueError`` on a damaged state."""
        tracker = cls(
            config,
            adults=[str(a) for a in state["adults"]],
            minors=[str(m) for m in state["minors"]],
        )
        for author, tactics in state["own"]:
            key = None if author is None else str(author)
            names = {str(t) for t in tactics}
            if not names <= set(config.severity):
                raise ValueError("unknown tactic in the pattern state")
            tracker.own[key] = names
        tracker.victim_by = {None if v is None else str(v) for v in state["victim_by"]}
        tracker._best = tracker._score()
        return tracker


def fuse(language: float, pattern: float) -> float:
    """Noisy-OR: the risk that the language or the explicit pattern indicates grooming."""
    return 1.0 - (1.0 - language) * (1.0 - pattern)


def pattern_logits(
    config: FusionConfig,
    participants: Sequence[Participant],
    unit_authors: Sequence[str | None],
    unit_findings: Sequence[Sequence[Finding]],
) -> list[float]:
    """The strongest pattern's log-odds before ``offset`` after every unit (``-inf`` while no
    author has a pattern): what training needs to calibrate ``offset``."""
    tracker = PatternTracker.for_participants(config, participants)
    out: list[float] = []
    for author, found in zip(unit_authors, unit_findings, strict=True):
        tracker.add(author, found)
        b = tracker.best
        out.append(-math.inf if b is None else b.tactic_logit + b.context_logit)
    return out


def describe_driver(components: Mapping[str, float], threshold: float) -> str:
    """One line saying which component drove the risk."""
    lang = components.get("language", 0.0)
    tac = components.get("tactics", 0.0)
    ctx = components.get("context", 0.0)
    pattern = tac + ctx
    if max(lang, pattern) < threshold and fuse(lang, pattern) < threshold:
        return (
            f"No component reached the threshold (language {lang:.2f}, tactic pattern "
            f"{pattern:.2f})."
        )
    if pattern >= lang:
        if ctx > 0 and tac < threshold:
            return (
                f"Driven by the tactic pattern ({pattern:.2f}), raised by its context (declared "
                f"roles or the other participant's age signal); language model {lang:.2f}."
            )
        return f"Driven by the tactic pattern ({pattern:.2f}); language model {lang:.2f}."
    return f"Driven by the language model ({lang:.2f}); tactic pattern {pattern:.2f}."


__all__ = [
    "DEFAULT_SEVERITY",
    "FusionConfig",
    "PatternScore",
    "PatternTracker",
    "describe_driver",
    "fuse",
    "fused_step",
    "logit",
    "pattern_logits",
    "sigmoid",
]


def fused_step(
    config: FusionConfig | None,
    text_logit: float,
    tokens: float,
    tracker: PatternTracker | None,
) -> tuple[float, dict[str, float]]:
    """The risk and its components after one unit, from the text model's calibrated logit, the
    tokens seen and the pattern tracker (already updated with the unit's findings). The batch
    path and the streaming monitor both call this, so they agree exactly."""
    if config is None or tracker is None:
        risk = sigmoid(text_logit)
        return risk, {"language": risk, "tactics": 0.0, "context": 0.0}
    language = config.language(text_logit, tokens)
    tactics, context = tracker.components()
    return fuse(language, tactics + context), {
        "language": language,
        "tactics": tactics,
        "context": context,
    }
