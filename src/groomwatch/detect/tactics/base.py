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
intersection and no regular expression. Which cues are worth trying depends only on which anchor
and ``also`` words a message holds; the registry remembers that list per set of such words, so a
message whose words let no cue through (most chat, even when it holds common anchors such as
"you") costs its tokenisation and one dictionary lookup.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

if TYPE_CHECKING:
    from groomwatch.detect.tactics.batch import BatchMatcher

__all__ = ["Cue", "Finding", "PreparedText", "Tactic", "TacticRegistry", "prepare"]

VIABLE_CACHE = 65536
"""Sets of cue words whose viable cues a registry remembers (see ``_viable_cues``)."""


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
    (slower). ``also`` is a second group of words one of which must occur too (empty: no second
    condition): it spares the pattern when the anchor is a common word."""

    pattern: re.Pattern[str]
    weight: float
    language: str = "en"
    id: str = ""
    anchors: frozenset[str] = field(default_factory=frozenset)
    also: frozenset[str] = field(default_factory=frozenset)


_TOKEN = re.compile(r"[^\W_]+")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})


class PreparedText(NamedTuple):
    """A message made ready for matching.

    ``lower`` is ``text`` lower-cased with every apostrophe removed (``I'm`` -> ``im``, ``don't``
    -> ``dont``), so that cue patterns need not care whether a writer typed them; ``tokens`` are
    its words. :meth:`span` maps a span of ``lower`` back to ``text``. (A named tuple rather than
    a dataclass: one is built for every message of a scan, and tuples are the cheapest to build.)
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


_words = _TOKEN.findall


def _lower(text: str) -> str:
    """``text`` lower-cased, same length, typographic apostrophes made ``'``."""
    lower = text.lower()
    if not lower.isascii():
        if len(lower) != len(text):  # a few characters grow when lower-cased (e.g. U+0130)
            lower = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
        lower = lower.translate(_QUOTES)
    return lower


def prepare(text: str) -> PreparedText:
    """Lower-case ``text``, drop its apostrophes, and collect its words."""
    lower = _lower(text)
    stripped = lower.replace("'", "") if "'" in lower else lower
    return PreparedText(text, stripped, frozenset(_words(stripped)), lower)


class Tactic:
    """Base class of every tactic. Subclasses set the class metadata and, usually, inherit
    :meth:`find`, which matches the tactic's cues; a tactic that needs more (numbers, context)
    overrides :meth:`find_prepared` (and :attr:`anchors` if it matches words of its own)."""

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]
    examples: ClassVar[tuple[str, ...]]
    counter_examples: ClassVar[tuple[str, ...]] = ()

    #: Words that make the tactic's own matcher (:meth:`match_extra`) worth running, for tactics
    #: that find more than their cues (e.g. stated ages); empty for cue-only tactics.
    extra_anchors: ClassVar[frozenset[str]] = frozenset()

    #: Position standing for "the tactic's own matcher" in a set of candidate cue positions.
    EXTRA: ClassVar[int] = -1

    def __init__(self, cues: Iterable[Cue] = ()) -> None:
        self.cues: tuple[Cue, ...] = tuple(cues)

    @property
    def anchors(self) -> frozenset[str] | None:
        """Words one of which must be in a message for this tactic to find anything; ``None``
        when some cue has no anchors (the tactic is then tried on every message)."""
        words: set[str] = set(self.extra_anchors)
        for cue in self.cues:
            if not cue.anchors:
                return None
            words.update(cue.anchors)
        return frozenset(words)

    def anchor_index(self) -> dict[str, tuple[int, ...]]:
        """For each anchor word, the positions of the cues it lets through (:attr:`EXTRA` for
        the tactic's own matcher). Cues without anchors are not in it (see :meth:`unanchored`)."""
        index: dict[str, list[int]] = {}
        for i, cue in enumerate(self.cues):
            for word in cue.anchors:
                index.setdefault(word, []).append(i)
        for word in self.extra_anchors:
            index.setdefault(word, []).append(self.EXTRA)
        return {w: tuple(ix) for w, ix in index.items()}

    def unanchored(self) -> tuple[int, ...]:
        """Positions of the cues that must be tried on every message."""
        return tuple(i for i, cue in enumerate(self.cues) if not cue.anchors)

    def candidates(self, text: PreparedText) -> set[int]:
        """Positions of the cues (and :attr:`EXTRA`) that ``text`` lets through."""
        tokens = text.tokens
        out = {
            i
            for i, cue in enumerate(self.cues)
            if (not cue.anchors or not cue.anchors.isdisjoint(tokens))
            and (not cue.also or not cue.also.isdisjoint(tokens))
        }
        if self.extra_anchors and not self.extra_anchors.isdisjoint(tokens):
            out.add(self.EXTRA)
        return out

    def find(self, text: str, index: int, author: str | None = None) -> list[Finding]:
        """Findings of this tactic in one message: at most one, for the best-weighted cue."""
        prepared = prepare(text)
        return self.find_prepared(prepared, index, author, self.candidates(prepared))

    def find_prepared(
        self,
        text: PreparedText,
        index: int,
        author: str | None = None,
        candidates: Iterable[int] | None = None,
    ) -> list[Finding]:
        """:meth:`find` on a message already :func:`prepare`-d, trying only the cue positions in
        ``candidates`` (those its anchors let through; all when ``None``). The score combines the
        weights of every cue that matched (noisy-or, ``1 - prod(1 - w)``); the evidence is the
        span of the best-weighted one."""
        if candidates is None:
            candidates = self.candidates(text)
        lower = text.lower
        cues = self.cues
        best: Cue | None = None
        best_match: re.Match[str] | None = None
        miss = 1.0
        extra = False
        tokens = text.tokens
        for i in sorted(candidates):
            if i < 0:
                extra = True
                continue
            cue = cues[i]
            if cue.also and cue.also.isdisjoint(tokens):
                continue
            m = cue.pattern.search(lower)
            if m is None:
                continue
            miss *= 1.0 - cue.weight
            if best is None or cue.weight > best.weight:
                best, best_match = cue, m
        found = self._finding(text, index, author, best, best_match, miss)
        if extra:
            return self.match_extra(text, index, author, found)
        return found

    def _finding(
        self,
        text: PreparedText,
        index: int,
        author: str | None,
        best: Cue | None,
        match: re.Match[str] | None,
        miss: float,
    ) -> list[Finding]:
        if best is None or match is None:
            return []
        start, end = text.span(*match.span())
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

    def match_extra(
        self, text: PreparedText, index: int, author: str | None, found: list[Finding]
    ) -> list[Finding]:
        """The tactic's own matcher, run when an :attr:`extra_anchors` word is in the message;
        ``found`` holds what the cues found. Returns the tactic's findings (at most one)."""
        return found

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
        self._flat: tuple[tuple[int, Cue | None], ...] = ()
        self._always: frozenset[int] = frozenset()
        self._anchor_words: frozenset[str] = frozenset()
        self._list: list[Tactic] = []
        # Words that decide which cues may match: anchors and ``also`` words.
        self._vocab: frozenset[str] = frozenset()
        self._viable: dict[frozenset[str], tuple[int, ...]] = {}
        self._batch: BatchMatcher | None = None

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
        self._viable = {}
        self._batch = None
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
        # Every cue of every tactic gets a global number, in registry order, tactic by tactic (the
        # tactic's own matcher first); ``_flat[g]`` is (tactic position, cue or None for it).
        flat: list[tuple[int, Cue | None]] = []
        index: dict[str, list[int]] = {}
        always: list[int] = []
        self._list = list(self._tactics.values())
        for t, tactic in enumerate(self._list):
            base = len(flat)
            if tactic.extra_anchors:
                flat.append((t, None))
            first_cue = len(flat)
            flat.extend((t, cue) for cue in tactic.cues)
            for word, positions in tactic.anchor_index().items():
                index.setdefault(word, []).extend(
                    base if i == Tactic.EXTRA else first_cue + i for i in positions
                )
            always.extend(first_cue + i for i in tactic.unanchored())
        self._flat = tuple(flat)
        self._always = frozenset(always)
        self._anchor_words = frozenset(index)
        also: set[str] = set()
        for _t, cue in flat:
            if cue is not None:
                also.update(cue.also)
        self._vocab = self._anchor_words | also
        self._viable = {}
        self._index = {w: tuple(ix) for w, ix in index.items()}
        self._batch = None
        return self._index

    def _viable_cues(self, words: frozenset[str]) -> tuple[int, ...]:
        """The global cue numbers worth trying on a message whose words include exactly
        ``words`` of the registry's vocabulary (anchors and ``also`` words), in order: a cue
        whose anchors let it through and whose ``also`` condition holds (the tactic's own
        matcher when one of its extra anchors is there). This depends on ``words`` alone, so
        it is computed once per set of words and remembered."""
        cached = self._viable.get(words)
        if cached is not None:
            return cached
        index = self._index if self._index is not None else self._build_index()
        selected = set(self._always)
        for word in words:
            selected.update(index.get(word, ()))
        flat = self._flat
        out = tuple(
            g
            for g in sorted(selected)
            if (cue := flat[g][1]) is None or not cue.also or not cue.also.isdisjoint(words)
        )
        if len(self._viable) >= VIABLE_CACHE:  # bounded: start again rather than grow
            self._viable = {}
        self._viable[words] = out
        return out

    def find(self, text: str, index: int, author: str | None = None) -> list[Finding]:
        """Every tactic's findings in one message, in registry order."""
        # The common case first, inlined: most messages let no cue through at all.
        if self._index is None:
            self._build_index()
        lower = text.lower()
        if not lower.isascii():
            lower = _lower(text)
        stripped = lower.replace("'", "") if "'" in lower else lower
        words = _words(stripped)
        key = self._vocab.intersection(words)
        viable = self._viable.get(key)
        if viable is None:
            viable = self._viable_cues(key)
        if not viable:
            return []
        return self._run(
            PreparedText(text, stripped, frozenset(words), lower), viable, index, author
        )

    def find_many(
        self, texts: Sequence[str], indexes: Sequence[int], authors: Sequence[str | None]
    ) -> dict[int, list[Finding]]:
        """``{position: findings}`` for the positions of ``texts`` that have findings: the same
        as :meth:`find` of ``(texts[p], indexes[p], authors[p])`` for every position ``p``, with
        the words of the whole batch read at once (see :mod:`groomwatch.detect.tactics.batch`)."""
        if self._index is None or self._batch is None:
            # (imported here: the batch module imports this one)
            from groomwatch.detect.tactics.batch import BatchMatcher

            index = self._index if self._index is not None else self._build_index()
            self._batch = BatchMatcher(self, index, self._flat, self._always)
        return self._batch.find_many(texts, indexes, authors)

    def find_prepared(
        self, text: PreparedText, index: int, author: str | None = None
    ) -> list[Finding]:
        """:meth:`find` on a message already :func:`prepare`-d. Gives the same findings as each
        tactic's :meth:`Tactic.find_prepared`, with one index lookup for all tactics."""
        if self._index is None:
            self._build_index()
        viable = self._viable_cues(text.tokens & self._vocab)
        if not viable:
            return []
        return self._run(text, viable, index, author)

    def _run(
        self,
        text: PreparedText,
        viable: tuple[int, ...],
        index: int,
        author: str | None,
        matched: Mapping[int, re.Match[str]] | None = None,
    ) -> list[Finding]:
        """Try the ``viable`` cues (global numbers, in order) and emit each tactic's finding.
        ``matched``, when given, holds the matches of the viable cues' patterns in ``text.lower``
        (by cue number; a cue not in it did not match), already searched for in a batch."""
        flat = self._flat
        tactics = self._list
        lower = text.lower
        out: list[Finding] = []
        current = -1
        best: Cue | None = None
        best_match: re.Match[str] | None = None
        miss = 1.0
        extra = False
        for g in viable:
            t, cue = flat[g]
            if t != current:
                if current >= 0 and (best is not None or extra):  # else nothing to emit
                    self._emit(
                        out, tactics[current], text, index, author, best, best_match, miss, extra
                    )
                current, best, best_match, miss, extra = t, None, None, 1.0, False
            if cue is None:
                extra = True
                continue
            m = cue.pattern.search(lower) if matched is None else matched.get(g)
            if m is not None:
                miss *= 1.0 - cue.weight
                if best is None or cue.weight > best.weight:
                    best, best_match = cue, m
        if current >= 0 and (best is not None or extra):
            self._emit(out, tactics[current], text, index, author, best, best_match, miss, extra)
        return out

    @staticmethod
    def _emit(
        out: list[Finding],
        tactic: Tactic,
        text: PreparedText,
        index: int,
        author: str | None,
        best: Cue | None,
        match: re.Match[str] | None,
        miss: float,
        extra: bool,
    ) -> None:
        found = tactic._finding(text, index, author, best, match, miss)
        if extra:
            found = tactic.match_extra(text, index, author, found)
        out.extend(found)

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
