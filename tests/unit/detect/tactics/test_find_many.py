"""The batch prefilter of :meth:`TacticRegistry.find_many`: every finding of the per-message
:meth:`TacticRegistry.find`, identically, for batches of synthetic chat (ASCII and not, with
apostrophes, numbers, long words, cue words of every tactic and language); and the cues it lets
through per message exactly the registry's own ``_viable_cues``."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from groomwatch.detect.tactics import (
    TACTIC_CLASSES,
    TacticRegistry,
    build_registry,
    default_registry,
)
from groomwatch.detect.tactics.base import _words
from groomwatch.detect.tactics.batch import SMALL_BATCH, BatchMatcher, _pack_words

# Safe, non-graphic chat written for these tests, plus every tactic's examples and counters.
CHAT = (
    "hey how was school today",
    "lol ok see u tmrw",
    "I'm 13 and my mom's strict",
    "don't tell ur mom ok",
    "don\u2019t tell your dad about this",
    "add me on snap",
    "we could meet at the mall on saturday",
    "you're so mature for your age",
    "i can buy you a gift card",
    "delete our chat after",
    "send me a pic of you",
    "how old r u? 14f here",
    "im 5 min away",
    "my sister is 12",
    "homework then football practice",
    "10yearsold neighbourhood girlfriend photographs",
    "x" * 30,
    "",
    "   ",
    "tab\tseparated\nand a new line",
    "under_score and_more",
    "ÉCOLE demain, j'ai 13 ans",
    "tengo 14 años",
    "no le digas a tu mamá",
    "ne dis rien à tes parents",
    "ıİ straße ǅ",
    " ".join(["word"] * 45) + " dont tell anyone",
)
EXAMPLES = tuple(text for cls in TACTIC_CLASSES for text in (*cls.examples, *cls.counter_examples))
ALL_TEXTS = CHAT + EXAMPLES


def _registries() -> list[TacticRegistry]:
    return [default_registry(), build_registry(languages=("en", "es", "fr"))]


def _per_message(
    registry: TacticRegistry, texts: list[str], authors: list[str | None]
) -> dict[int, list[object]]:
    out: dict[int, list[object]] = {}
    for p, (text, author) in enumerate(zip(texts, authors, strict=True)):
        found = registry.find(text, p % 7, author)
        if found:
            out[p] = list(found)
    return out


@pytest.mark.parametrize("registry", _registries(), ids=["en", "en-es-fr"])
def test_find_many_equals_find_on_the_fixtures(registry: TacticRegistry) -> None:
    texts = list(itertools.islice(itertools.cycle(ALL_TEXTS), 3 * len(ALL_TEXTS)))
    authors: list[str | None] = [None if i % 5 == 0 else f"u{i % 3}" for i in range(len(texts))]
    expected = _per_message(registry, texts, authors)
    assert expected  # the fixtures do have findings
    got = registry.find_many(texts, [p % 7 for p in range(len(texts))], authors)
    assert got == expected
    assert list(got) == sorted(got)


def test_find_many_on_small_and_ascii_only_batches() -> None:
    registry = default_registry()
    ascii_texts = [t for t in ALL_TEXTS if t.isascii()]
    for n in (0, 1, SMALL_BATCH - 1, SMALL_BATCH, len(ascii_texts)):
        texts = ascii_texts[:n]
        authors: list[str | None] = ["a"] * len(texts)
        got = registry.find_many(texts, [p % 7 for p in range(len(texts))], authors)
        assert got == _per_message(registry, texts, authors)


WORDS = sorted({w for t in ALL_TEXTS for w in t.replace("'", " ").split()} | {"you", "u", "ur"})


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join),
            st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789 '_?!\u2019\u00e9", max_size=40),
            st.text(max_size=20),
        ),
        min_size=SMALL_BATCH,
        max_size=60,
    )
)
def test_find_many_equals_find_on_generated_text(texts: list[str]) -> None:
    registry = default_registry()
    authors: list[str | None] = [f"u{i % 2}" for i in range(len(texts))]
    got = registry.find_many(texts, [p % 7 for p in range(len(texts))], authors)
    assert got == _per_message(registry, texts, authors)


@pytest.mark.parametrize("registry", _registries(), ids=["en", "en-es-fr"])
def test_the_cues_let_through_are_the_registrys(registry: TacticRegistry) -> None:
    """Matches found in a batch replace the registry's own searches only for the cues that
    ``_viable_cues`` gives, so the two must agree exactly for every message read."""
    registry.find_many(list(ALL_TEXTS), [0] * len(ALL_TEXTS), [None] * len(ALL_TEXTS))
    matcher = registry._batch
    assert isinstance(matcher, BatchMatcher)
    texts = [t for t in ALL_TEXTS if t.isascii()]
    candidates = {p: viable for p, viable, _m in matcher.candidates(texts)}
    for p, text in enumerate(texts):
        stripped = text.lower().replace("'", "")
        expected = registry._viable_cues(registry._vocab.intersection(_words(stripped)))
        if p in candidates:
            assert candidates[p] == expected
        else:  # left out: nothing to try could match, and no tactic's own matcher applies
            assert not registry.find(text, 0)


def test_packed_words_are_one_to_one() -> None:
    words = ["a", "ab", "abc", "abcdefgh", "abcdefg", "b", "ba", "0", "00"]
    raw = np.frombuffer("\n".join(words).encode("ascii"), dtype=np.uint8)
    lens = np.array([len(w) for w in words], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lens + 1)[:-1]]).astype(np.int64)
    keys = _pack_words(raw, starts, lens)
    assert len(set(keys.tolist())) == len(words)
    assert int(keys[0]) == ord("a")
    assert int(keys[1]) == ord("a") | ord("b") << 8


def test_a_deployer_cue_without_anchors_is_tried_on_every_message(tmp_path: Path) -> None:
    cues = tmp_path / "cues.yaml"
    cues.write_text(
        "language: en\ntactics:\n  secrecy:\n"
        "    - id: hush\n      weight: 0.5\n      pattern: '\\bhush\\b'\n",
        encoding="utf-8",
    )
    registry = build_registry(cues)
    texts = ["hush now", "nothing here", *CHAT]
    authors: list[str | None] = [None] * len(texts)
    got = registry.find_many(texts, list(range(len(texts))), authors)
    assert got == _per_message_index(registry, texts)
    assert any(f.cue == "secrecy/hush" for f in got[0])


def _per_message_index(registry: TacticRegistry, texts: list[str]) -> dict[int, list[object]]:
    out: dict[int, list[object]] = {}
    for p, text in enumerate(texts):
        found = registry.find(text, p, None)
        if found:
            out[p] = list(found)
    return out
