"""Units: the steps in which the detector reads a conversation.

A chat message is one unit. A very long message, such as a corpus segment whose messages were
joined into one text (the VTPAN dev set), is read as consecutive units of :data:`UNIT_TOKENS`
whitespace-separated tokens, about the length of one chat message. Training, the streaming monitor,
the batch path and the evaluation's "first k % of the messages" all use this one definition, so a
conversation scores the same whether it arrives as one long text or as its messages, and the
persistence window of the early-warning policy means the same thing in both cases.
"""

from __future__ import annotations

import re

UNIT_TOKENS = 8
"""Tokens per unit when a long message is split (PAN 2012 chat messages average about 8 tokens)."""

LONG_MESSAGE_TOKENS = 40
"""A message with more whitespace-separated tokens than this is split into units."""

_TOKEN = re.compile(r"\S+")


def split_units(text: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` character spans of the units of one message's ``text``.

    A message of at most :data:`LONG_MESSAGE_TOKENS` tokens is one unit spanning the whole text
    (an empty message is one empty unit); a longer one is split at whitespace into runs of
    :data:`UNIT_TOKENS` tokens.
    """
    spans = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
    if len(spans) <= LONG_MESSAGE_TOKENS:
        return [(0, len(text))]
    out: list[tuple[int, int]] = []
    for i in range(0, len(spans), UNIT_TOKENS):
        group = spans[i : i + UNIT_TOKENS]
        out.append((group[0][0], group[-1][1]))
    return out


def count_tokens(text: str) -> int:
    """Whitespace-separated tokens in ``text`` (the length feature and the evaluation's unit)."""
    return len(_TOKEN.findall(text))
