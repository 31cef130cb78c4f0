"""The streaming hasher's per-word column cache (:meth:`TextHasher.columns_of`): the columns of
scikit-learn's ``HashingVectorizer`` for any text, whether the words were seen before or not."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from groomwatch.detect import model
from groomwatch.detect.model import DEFAULT_HASHING, TextHasher

CONFIGS: list[tuple[dict[str, Any], ...]] = [
    DEFAULT_HASHING,
    (
        {"analyzer": "word", "ngram_range": [1, 3], "n_features": 97},
        {"analyzer": "char_wb", "ngram_range": [2, 5], "n_features": 2**7},
    ),
    ({"analyzer": "word", "ngram_range": [2, 2], "token_pattern": r"\S+", "n_features": 50},),
]


def _reference(hasher: TextHasher, text: str) -> dict[int, int]:
    row = hasher._sklearn_transform([text])
    return dict(zip(row.indices.tolist(), [int(v) for v in row.data], strict=True))


@pytest.mark.parametrize("config", CONFIGS, ids=["shipped", "odd-ranges", "bigrams-only"])
@settings(max_examples=150, deadline=None)
@given(
    texts=st.lists(
        st.text(alphabet="ab Σσς\u0130 \t\n\x1c\u00a0\u2003_'1", max_size=25)
        | st.text(max_size=15),
        min_size=1,
        max_size=4,
    )
)
def test_columns_of_equals_scikit_learn(
    config: tuple[dict[str, Any], ...], texts: list[str]
) -> None:
    hasher = TextHasher(config)
    for text in [*texts, *texts]:  # the second time from the cache
        assert hasher.columns_of(text) == _reference(hasher, text)


def test_the_cache_is_bounded_and_starts_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model, "COLUMN_CACHE_SIZE", 5)
    hasher = TextHasher()
    text = "one two three four five six seven eight nine ten"
    for _ in range(3):
        assert hasher.columns_of(text) == _reference(hasher, text)
    caches = [c for c in hasher._caches if c is not None]
    assert caches
    assert all(len(c._known) <= 5 for c in caches)
