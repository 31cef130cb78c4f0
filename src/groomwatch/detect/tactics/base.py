"""What a grooming tactic is, what it finds, and the registry that holds the tactics.

A tactic (DESIGN.md, "Grooming tactics") is one module under ``detect/tactics/`` with one
:class:`Tactic` subclass: its ``name``, a plain-language ``title`` and ``description`` in the words
child-protection workers use, safe non-graphic ``examples`` (messages it must find) and
``counter_examples`` (ordinary messages it must leave alone), and a detector that returns
:class:`Finding` objects. Cues (patterns and weights, per language) come from packaged YAML that a
deployer can override. A shared test base checks every registered tactic against its own examples.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of evidence: ``tactic`` seen in message ``message`` (0-based index), with the
    ``evidence`` span (``text[start:end]`` of that message) and a ``score`` in [0, 1]."""

    tactic: str
    message: int
    score: float
    evidence: str
    start: int = 0
    end: int = 0
    author: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "tactic": self.tactic,
            "message": self.message,
            "score": round(self.score, 4),
            "evidence": self.evidence,
            "start": self.start,
            "end": self.end,
        }


@dataclass(frozen=True, slots=True)
class Cue:
    """A compiled cue: a pattern and the score a match gives."""

    pattern: re.Pattern[str]
    weight: float
    language: str = "en"


class Tactic:
    """Base class of every tactic. Subclasses set the class metadata and, usually, inherit
    :meth:`find`, which matches the tactic's cues; a tactic that needs more (numbers, context)
    overrides it."""

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]
    examples: ClassVar[tuple[str, ...]]
    counter_examples: ClassVar[tuple[str, ...]] = ()

    def __init__(self, cues: Iterable[Cue] = ()) -> None:
        self.cues: tuple[Cue, ...] = tuple(cues)

    def find(self, text: str, index: int, author: str | None = None) -> list[Finding]:
        """Findings of this tactic in one message: the best-scoring cue match, if any."""
        best: Finding | None = None
        for cue in self.cues:
            m = cue.pattern.search(text)
            if m is not None and (best is None or cue.weight > best.score):
                best = Finding(
                    tactic=self.name,
                    message=index,
                    score=cue.weight,
                    evidence=m.group(0),
                    start=m.start(),
                    end=m.end(),
                    author=author,
                )
        return [best] if best is not None else []

    @classmethod
    def describe(cls) -> dict[str, Any]:
        return {
            "name": cls.name,
            "title": cls.title,
            "description": cls.description,
            "examples": list(cls.examples),
        }


class TacticRegistry:
    """The explicit registry of tactics: ``add`` and ``get``; names are unique, checked on add."""

    def __init__(self) -> None:
        self._tactics: dict[str, Tactic] = {}

    def add(self, tactic: Tactic) -> Tactic:
        name = getattr(tactic, "name", None)
        if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z_]*", name):
            raise ValueError(f"tactic {type(tactic).__name__} has no valid name: {name!r}")
        if name in self._tactics:
            raise ValueError(f"tactic name {name!r} registered twice")
        for attr in ("title", "description", "examples"):
            if not getattr(tactic, attr, None):
                raise ValueError(f"tactic {name!r} has no {attr}")
        self._tactics[name] = tactic
        return tactic

    def get(self, name: str) -> Tactic:
        try:
            return self._tactics[name]
        except KeyError:
            raise KeyError(f"unknown tactic {name!r}; known: {', '.join(self._tactics)}") from None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._tactics)

    def __iter__(self) -> Iterator[Tactic]:
        return iter(self._tactics.values())

    def __len__(self) -> int:
        return len(self._tactics)

    def __contains__(self, name: object) -> bool:
        return name in self._tactics

    def find(self, text: str, index: int, author: str | None = None) -> list[Finding]:
        """Every tactic's findings in one message."""
        out: list[Finding] = []
        for tactic in self._tactics.values():
            out.extend(tactic.find(text, index, author))
        return out
