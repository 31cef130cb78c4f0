"""What a grooming tactic is, what it finds, and the registry that holds the tactics.

A tactic (DESIGN.md, "Grooming tactics") is one module under ``detect/tactics/`` with one
:class:`Tactic` subclass: its ``name``, a plain-language ``title`` and ``description`` in the words
child-protection workers use, safe non-graphic ``examples`` (messages it must find) and
``counter_examples`` (ordinary messages it must leave alone), and a detector that returns
:class:`Finding` objects. Cues (patterns and weights, per language) come from packaged YAML that a
deployer can override (:mod:`groomwatch.detect.tactics.cues`). A shared test base checks every
registered tactic against its own examples.

Speed: a batch scan runs every tactic on every message, so matching is two-stage. A message is
prepared once (:func:`prepare`: lower-cased, apostrophes unified, its word set); each cue names
``anchors``, words one of which must be in the message for the cue to be tried at all. The
registry keeps one index from anchor word to tactics, so most ordinary messages cost one set
intersection and no regular expression.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = ["Cue", "Finding", "PreparedText", "Tactic", "TacticRegistry", "prepare"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of evidence: ``tactic`` seen in message ``message`` (0-based index), with the
    ``evidence`` span (``text[start:end]`` of that message) and a ``score`` in [0, 1].

    ``cue`` names the cue that matched (``secrecy/dont_tell``), and ``age`` is the age a message
    states (``victim_age_signal`` only). Both are left out of :meth:`to_dict` when unset.
    """

    tactic: str
    message: int
    score: float
    evidence: str
    start: int = 0
    end: int = 0
    author: str | None = None
    cue: str | None = None
    age: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "tactic": self.tactic,
            "message": self.message,
            "score": round(self.score, 4),
            "evidence": self.evidence,
            "start": self.start,
            "end": self.end,
        }
        if self.cue is not None:
            out["cue"] = self.cue
        if self.age is not None:
            out["age"] = self.age
        return out


@dataclass(frozen=True, slots=True)
class Cue:
    """A compiled cue: a pattern and the score a match gives. The pattern is matched against
    :attr:`PreparedText.lower` (lower case, no apostrophes). ``anchors`` are words one of which
    must occur in the message for the pattern to be tried; an empty set means "always try"
    (slower)."""

    pattern: re.Pattern[str]
    weight: float
    language: str = "en"
    id: str = ""
    anchors: frozenset[str] = field(default_factory=frozenset)


_TOKEN = re.compile(r"[^\W_]+")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})


@dataclass(frozen=True, slots=True)
class PreparedText:
    """A message made ready for matching.

    ``lower`` is ``text`` lower-cased with every apostrophe removed (``I'm`` -> ``im``, ``don't``
    -> ``dont``), so that cue patterns need not care whether a writer typed them; ``tokens`` are
    its words. :meth:`span` maps a span of ``lower`` back to ``text``.
    """

    text: str
    lower: str
    tokens: frozenset[str]
    #: ``text`` lower-cased, apostrophes kept (same length as ``text``).
    raw_lower: str

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The span of ``text`` that ``lower[start:end]`` comes from."""
        if len(self.lower) == len(self.raw_lower):
            return start, end
        shifted: list[int] = []
        j = 0
        for i, c in enumerate(self.raw_lower):
            if c == "'":
                shifted.append(i - j)
                j += 1
        first = start + bisect_right(shifted, start)
        last = (end - 1) + bisect_right(shifted, end - 1) if end > start else first - 1
        return first, last + 1


def prepare(text: str) -> PreparedText:
    """Lower-case ``text``, drop its apostrophes, and collect its words."""
    lower = text.lower()
    if not lower.isascii():
        if len(lower) != len(text):  # a few characters grow when lower-cased (e.g. U+0130)
            lower = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
        lower = lower.translate(_QUOTES)
    stripped = lower.replace("'", "") if "'" in lower else lower
    return PreparedText(text, stripped, frozenset(_TOKEN.findall(stripped)), lower)


class Tactic:
    """Base class of every tactic. Subclasses set the class metadata and, usually, inherit
    :meth:`find`, which matches the tactic's cues; a tactic that needs more (numbers, context)
    overrides :meth:`find_prepared` (and :attr:`anchors` if it matches words of its own)."""

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]
    examples: ClassVar[tuple[str, ...]]
    counter_examples: ClassVar[tuple[str, ...]] = ()

    def __init__(self, cues: Iterable[Cue] = ()) -> None:
        self.cues: tuple[Cue, ...] = tuple(cues)

    @property
    def anchors(self) -> frozenset[str] | None:
        """Words one of which must be in a message for this tactic to find anything; ``None``
        when some cue has no anchors (the tactic is then tried on every message)."""
        words: set[str] = set()
        for cue in self.cues:
            if not cue.anchors:
                return None
            words.update(cue.anchors)
        return frozenset(words)

    def find(self, text: str, index: int, author: str | None = None) -> list[Finding]:
        """Findings of this tactic in one message: at most one, for the best-weighted cue."""
        return self.find_prepared(prepare(text), index, author)

    def find_prepared(
        self, text: PreparedText, index: int, author: str | None = None
    ) -> list[Finding]:
        """:meth:`find` on a message already :func:`prepare`-d. The score combines the weights
        of every cue that matched (noisy-or, ``1 - prod(1 - w)``); the evidence is the span of the
        best-weighted one."""
        tokens = text.tokens
        best: Cue | None = None
        best_match: re.Match[str] | None = None
        miss = 1.0
        for cue in self.cues:
            if cue.anchors and cue.anchors.isdisjoint(tokens):
                continue
            m = cue.pattern.search(text.lower)
            if m is None:
                continue
            miss *= 1.0 - cue.weight
            if best is None or cue.weight > best.weight:
                best, best_match = cue, m
        if best is None or best_match is None:
            return []
        start, end = text.span(*best_match.span())
        return [
            Finding(
                tactic=self.name,
                message=index,
                score=min(1.0, max(0.0, 1.0 - miss)),
                evidence=text.text[start:end],
                start=start,
                end=end,
                author=author,
                cue=f"{self.name}/{best.id}" if best.id else None,
            )
        ]

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
        self._index: dict[str, tuple[int, ...]] | None = None
        self._always: tuple[int, ...] = ()
        self._anchor_words: frozenset[str] = frozenset()

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
        self._index = None
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

    def _build_index(self) -> dict[str, tuple[int, ...]]:
        index: dict[str, list[int]] = {}
        always: list[int] = []
        for i, tactic in enumerate(self._tactics.values()):
            anchors = tactic.anchors
            if anchors is None:
                always.append(i)
                continue
            for word in anchors:
                index.setdefault(word, []).append(i)
        self._always = tuple(always)
        self._anchor_words = frozenset(index)
        self._index = {w: tuple(ix) for w, ix in index.items()}
        return self._index

    def find(self, text: str, index: int, author: str | None = None) -> list[Finding]:
        """Every tactic's findings in one message, in registry order."""
        return self.find_prepared(prepare(text), index, author)

    def find_prepared(
        self, text: PreparedText, index: int, author: str | None = None
    ) -> list[Finding]:
        """:meth:`find` on a message already :func:`prepare`-d."""
        anchor_index = self._index if self._index is not None else self._build_index()
        hits = text.tokens & self._anchor_words
        if not hits and not self._always:
            return []
        wanted: set[int] = set(self._always)
        for word in hits:
            wanted.update(anchor_index[word])
        tactics = list(self._tactics.values())
        out: list[Finding] = []
        for i in sorted(wanted):
            out.extend(tactics[i].find_prepared(text, index, author))
        return out

    def find_all(
        self, texts: Iterable[str], authors: Iterable[str | None] | None = None
    ) -> list[Finding]:
        """Findings in a sequence of messages (indices from 0), e.g. a conversation's texts."""
        out: list[Finding] = []
        if authors is None:
            for i, text in enumerate(texts):
                out.extend(self.find_prepared(prepare(text), i))
        else:
            for i, (text, author) in enumerate(zip(texts, authors, strict=True)):
                out.extend(self.find_prepared(prepare(text), i, author))
        return out
