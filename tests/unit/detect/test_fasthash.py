"""The vectorised hasher gives exactly scikit-learn's HashingVectorizer counts."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils import murmurhash3_32

from groomwatch.detect.fasthash import FastHasher, murmur3_ranges, supports
from groomwatch.detect.model import DEFAULT_HASHING, TextHasher

CONFIGS: list[tuple[dict[str, Any], ...]] = [
    DEFAULT_HASHING,
    (
        {"analyzer": "word", "ngram_range": [1, 3], "n_features": 2**18},  # sklearn's pattern
        {"analyzer": "char_wb", "ngram_range": [2, 5], "n_features": 1000},
    ),
    ({"analyzer": "char_wb", "ngram_range": [4, 6], "n_features": 2**20},),  # short words whole
    ({"analyzer": "word", "token_pattern": r"(?u)\b\w+\b", "n_features": 7},),
]

# Text made of pieces that exercise the analyzers: words, ASCII and Unicode whitespace runs,
# apostrophes and punctuation, accents and combining marks, final sigma, a capital whose lower
# case is longer (U+0130), emoji (4 bytes in UTF-8), digits and underscores.
PIECES = st.sampled_from(
    [
        "hi",
        "Hello",
        "u",
        "r",
        "ok",
        "don't",
        "ΣΑΣ",
        "ς",
        "İstanbul",
        "café",
        "e\u0301",
        "😀",
        "👍🏽",
        "日本語",
        "a_b",
        "12",
        "x1",
        " ",
        "  ",
        "\t",
        "\n",
        "\u00a0",
        "\u2003",
        "\x1c",
        ",",
        "!?",
        "...",
        "-",
    ]
)
TEXTS = st.one_of(
    st.lists(PIECES, max_size=12).map("".join),
    st.text(max_size=40).filter(lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t)),
)


def sklearn_counts(config: tuple[dict[str, Any], ...], texts: list[str]) -> sp.csr_matrix:
    mats = [
        HashingVectorizer(
            analyzer=c["analyzer"],
            ngram_range=tuple(c.get("ngram_range", (1, 1))),
            token_pattern=c.get("token_pattern", r"(?u)\b\w\w+\b")
            if c["analyzer"] == "word"
            else None,
            n_features=c["n_features"],
            alternate_sign=False,
            norm=None,
            dtype=np.float64,
        ).transform(texts)
        for c in config
    ]
    return sp.csr_matrix(sp.hstack(mats, format="csr"))


def fast_counts(config: tuple[dict[str, Any], ...], texts: list[str]) -> sp.csr_matrix:
    fast = FastHasher(config)
    rows, cols = fast.entries(texts)
    out = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(texts), fast.n_features))
    out.sum_duplicates()
    return out


def assert_same(a: sp.csr_matrix, b: sp.csr_matrix) -> None:
    assert a.shape == b.shape
    assert (a != b).nnz == 0


@pytest.mark.parametrize("config", CONFIGS, ids=range(len(CONFIGS)))
@settings(max_examples=150, deadline=None)
@given(texts=st.lists(TEXTS, min_size=1, max_size=8))
def test_equals_sklearn_on_arbitrary_text(
    config: tuple[dict[str, Any], ...], texts: list[str]
) -> None:
    assert_same(fast_counts(config, texts), sklearn_counts(config, texts))


@pytest.mark.parametrize("config", CONFIGS, ids=range(len(CONFIGS)))
def test_equals_sklearn_on_chat_and_edge_cases(config: tuple[dict[str, Any], ...]) -> None:
    texts = [
        "hey how old are you? don't tell your mom lol",
        "",
        "   ",
        "a",
        "ΣΑΣ ΟΔΟΣ, İstanbul café e\u0301 😀👍🏽",
        "only ascii here!!! x_y 123",
        "tabs\tand\nnewlines\r\n\x1cand\x1fcontrol",
        "word " * 60,
    ]
    assert_same(fast_counts(config, texts), sklearn_counts(config, texts))
    # mixed ASCII / non-ASCII batches keep their rows
    assert_same(fast_counts(config, texts[::-1]), sklearn_counts(config, texts[::-1]))
    # a batch with many repeated words, short and long (equal words are hashed once)
    repeated = [*texts, "supercalifragilistic words again and again", "ab\x00 ab ab\x00"] * 6
    assert_same(fast_counts(config, repeated), sklearn_counts(config, repeated))


@pytest.mark.parametrize("config", CONFIGS, ids=range(len(CONFIGS)))
def test_a_table_keeps_and_renumbers_columns(config: tuple[dict[str, Any], ...]) -> None:
    fast = FastHasher(config)
    texts = ["hey how old are you? don't tell", "ΣΑΣ café 😀 ok", "", "ok ok ok you you"] * 5
    rng = np.random.default_rng(0)
    table = np.where(rng.random(fast.n_features) < 0.5, -1, 0).astype(np.int32)
    kept = np.flatnonzero(table == 0)
    table[kept] = np.arange(len(kept), dtype=np.int32)
    rows, cols = fast.entries(texts)
    expected = sorted(
        (r, int(table[c]))
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True)
        if table[c] >= 0
    )
    got_rows, got_pos = fast.entries(texts, table)
    assert sorted(zip(got_rows.tolist(), got_pos.tolist(), strict=True)) == expected
    assert expected


def test_repeated_words_are_grouped_exactly() -> None:
    from groomwatch.detect.fasthash import _distinct_tokens

    text = b"ab ab\x00 abc ab ab\x00 abcdefghij ab abc x x x"
    buf = np.frombuffer(text, dtype=np.uint8)
    words = text.split(b" ")
    lens = np.array([len(w) for w in words], dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(lens + 1)[:-1]]).astype(np.int64)
    grouped = _distinct_tokens(buf, start, lens)
    assert grouped is not None
    first, word_of = grouped
    assert word_of[words.index(b"abcdefghij")] == -1  # long: not grouped
    for i, w in enumerate(words):
        if len(w) <= 7:  # each token's group starts with an equal token
            assert words[int(first[word_of[i]])] == w
    assert len(first) == 4  # ab, ab\x00, abc, x


@settings(max_examples=200, deadline=None)
@given(data=st.lists(st.binary(max_size=23), min_size=1, max_size=20))
def test_murmur_equals_sklearn(data: list[bytes]) -> None:
    buf = np.frombuffer(b"".join(data), dtype=np.uint8)
    lengths = np.array([len(d) for d in data], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    got = murmur3_ranges(buf, starts, lengths)
    assert got.tolist() == [murmurhash3_32(d, 0) for d in data]


def test_text_hasher_uses_it_and_falls_back() -> None:
    texts = ["Hey there, how old are you?", "Ünïcode ok 123 ok ok", ""]
    fast = TextHasher(DEFAULT_HASHING)
    assert fast.vectorised
    assert_same(fast.transform(texts), sklearn_counts(DEFAULT_HASHING, texts))
    rows, cols, counts = fast.entries(texts)
    summed = sp.csr_matrix((counts, (rows, cols)), shape=(3, fast.n_features))
    assert_same(summed, fast.transform(texts))
    # the char analyzer (not char_wb) is scikit-learn's alone
    config = ({"analyzer": "char", "ngram_range": [2, 3], "n_features": 512},)
    assert not supports(config[0])
    slow = TextHasher(config)
    assert not slow.vectorised
    rows, cols, counts = slow.entries(texts)
    summed = sp.csr_matrix((counts, (rows, cols)), shape=(3, 512))
    assert_same(summed, slow.transform(texts))


def test_lone_surrogates_behave_as_sklearn() -> None:
    hasher = TextHasher(DEFAULT_HASHING)
    with pytest.raises(UnicodeEncodeError):
        sklearn_counts(DEFAULT_HASHING, ["bad \ud800 text"])
    with pytest.raises(UnicodeEncodeError):
        hasher.transform(["bad \ud800 text"])


def test_unsupported_configurations() -> None:
    assert not supports({"analyzer": "word", "token_pattern": r"(\w+)", "n_features": 8})
    assert not supports({"analyzer": "word", "ngram_range": [2, 1], "n_features": 8})
    assert supports({"analyzer": "word", "n_features": 8})
    with pytest.raises(ValueError, match="not supported"):
        FastHasher(({"analyzer": "char", "n_features": 8},))
