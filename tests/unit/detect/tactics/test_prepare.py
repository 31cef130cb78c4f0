"""prepare(): lower case, apostrophes removed, spans mapped back to the original text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from groomwatch.detect.tactics import default_registry, prepare


def test_lower_and_tokens() -> None:
    p = prepare("Don't TELL ur Mom!!")
    assert p.lower == "dont tell ur mom!!"
    assert p.tokens == {"dont", "tell", "ur", "mom"}
    assert p.text == "Don't TELL ur Mom!!"


def test_typographic_apostrophes() -> None:
    p = prepare("I\u2019m here, don\u00b4t go")
    assert p.lower == "im here, dont go"
    assert "im" in p.tokens
    assert "dont" in p.tokens


def test_span_maps_back_across_apostrophes() -> None:
    text = "ok so I'm 13 and don't tell"
    p = prepare(text)
    start = p.lower.index("im 13")
    s, e = p.span(start, start + len("im 13"))
    assert text[s:e] == "I'm 13"
    start = p.lower.index("dont tell")
    s, e = p.span(start, start + len("dont tell"))
    assert text[s:e] == "don't tell"


def test_characters_that_grow_when_lowered_keep_spans() -> None:
    text = "\u0130stanbul dont tell ur mom"
    found = default_registry().find(text, 0)
    assert found
    assert text[found[0].start : found[0].end] == found[0].evidence


@given(st.text(max_size=60))
def test_any_text_is_safe_and_spans_are_exact(text: str) -> None:
    registry = default_registry()
    for f in registry.find(text, 0):
        assert text[f.start : f.end] == f.evidence
        assert 0.0 < f.score <= 1.0


@given(st.lists(st.sampled_from(["i'm", "13", "don't", "tell", "ur", "Mom", "'", "x"]), max_size=8))
def test_span_of_whole_lower_is_whole_text(words: list[str]) -> None:
    text = " ".join(words)
    p = prepare(text)
    if p.lower:
        s, e = p.span(0, len(p.lower))
        assert text[s:e].lower().replace("'", "") == p.lower
