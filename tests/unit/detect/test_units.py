from __future__ import annotations

from groomwatch.detect.units import LONG_MESSAGE_TOKENS, UNIT_TOKENS, count_tokens, split_units


def test_short_message_is_one_unit() -> None:
    assert split_units("hi there") == [(0, 8)]
    assert split_units("") == [(0, 0)]


def test_long_text_is_split_at_whitespace_into_runs_of_tokens() -> None:
    words = [f"w{i}" for i in range(LONG_MESSAGE_TOKENS + 5)]
    text = "  ".join(words)
    spans = split_units(text)
    assert len(spans) == -(-len(words) // UNIT_TOKENS)
    pieces = [text[s:e] for s, e in spans]
    assert [count_tokens(p) for p in pieces[:-1]] == [UNIT_TOKENS] * (len(pieces) - 1)
    assert " ".join(" ".join(p.split()) for p in pieces) == " ".join(words)


def test_boundary_length_is_not_split() -> None:
    text = " ".join(["x"] * LONG_MESSAGE_TOKENS)
    assert split_units(text) == [(0, len(text))]
