"""The risk model: hashed word and character n-gram counts, TF-IDF, tactic counts and length, one
logistic regression, a calibrated probability.

The text representation is additive, so that the streaming monitor can keep it up to date in
O(new features) per message:

- each unit (see :mod:`groomwatch.detect.units`) is hashed with scikit-learn's
  :class:`~sklearn.feature_extraction.text.HashingVectorizer` (raw counts, no sign, no norm),
  computed in batch by :mod:`groomwatch.detect.fasthash` (the same counts, vectorised);
  counts of a conversation are the sums of its units' counts;
- only the hashed columns kept at training time (document frequency of at least 2) count; the rest
  are ignored, which bounds the size of a conversation's state;
- a column's value is ``idf * (1 + log count)`` (sublinear TF), the vector is L2-normalised, and
  the text part of the decision is ``dot / sqrt(sq)`` where ``dot = sum(coef * value)`` and
  ``sq = sum(value ** 2)`` are running sums updated when a column's count changes;
- tactic features are ``log(1 + number of findings)`` per tactic, the length feature is
  ``log(1 + tokens)``;
- ``risk = sigmoid(calib_slope * decision + calib_intercept)`` (Platt scaling fitted on
  out-of-fold decisions).

The artifact is a directory with ``model.json`` (configuration, tactic names, threshold, policy,
measured metrics) and ``weights.npz`` (arrays only, loaded with ``allow_pickle=False``): loading it
runs no code.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from groomwatch.detect.fasthash import FastHasher
from groomwatch.detect.fusion import FusionConfig
from groomwatch.errors import ModelError

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import HashingVectorizer

FORMAT_VERSION = 1
TABLE_LIMIT = 2**25
"""Largest hashed space (all blocks) for which a model keeps :attr:`RiskModel.position_table`,
a lookup table from hashed column to kept position (4 bytes per hashed column: 8 MB for the
shipped 2 x 2**20)."""
TRANSFORM_BLOCK = 8192
"""Texts hashed at a time by :meth:`TextHasher.transform`."""
WEIGHTS_FILE = "weights.npz"
META_FILE = "model.json"
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "models" / "default"

_WORD = re.compile(r"\w+")
_CHAR3 = re.compile(r"(?=(\w{3}))")
_CHAR4 = re.compile(r"(?=(\w{4}))")
_ANY3 = re.compile(r"(?=(.{3}))", re.DOTALL)
_ANY4 = re.compile(r"(?=(.{4}))", re.DOTALL)


def word_1_2(doc: str) -> list[str]:
    """Lower-cased words (``\\w+``, single letters kept: chat is full of "u", "r", "i") and
    word bigrams."""
    words = _WORD.findall(doc.lower())
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


def char_3_4(doc: str) -> list[str]:
    """Character 3- and 4-grams inside words (overlapping, found by the regex engine, about
    twice as fast as scikit-learn's ``char_wb`` analyzer)."""
    low = doc.lower()
    grams: list[str] = _CHAR3.findall(low)
    grams.extend(_CHAR4.findall(low))
    return grams


def char_3_4_padded(doc: str) -> list[str]:
    """Character 3- and 4-grams of the lower-cased words joined by single spaces and padded
    with one, so that word beginnings and ends are features (like ``char_wb``); grams also
    span a space between two words."""
    padded = " " + " ".join(_WORD.findall(doc.lower())) + " "
    grams: list[str] = _ANY3.findall(padded)
    grams.extend(_ANY4.findall(padded))
    return grams


ANALYZERS: dict[str, Callable[[str], list[str]]] = {
    "word_1_2": word_1_2,
    "char_3_4": char_3_4,
    "char_3_4_padded": char_3_4_padded,
}
"""Named analyzers a model's hashing configuration may use (besides scikit-learn's own)."""

DEFAULT_HASHING: tuple[dict[str, Any], ...] = (
    {
        "analyzer": "word",
        "ngram_range": [1, 2],
        "token_pattern": r"(?u)\b\w+\b",
        "n_features": 2**20,
    },
    {"analyzer": "char_wb", "ngram_range": [3, 4], "n_features": 2**20},
)
"""Word 1-2-grams (single letters kept: chat is full of "u", "r", "i") and character 3-4-grams
padded at word boundaries. Cross-validated against the faster named analyzers above and
``char_wb`` 2-5-grams, this was best at early detection (see docs/research.md)."""

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def _murmurhash3_32(feature: str, seed: int) -> int:
    """scikit-learn's ``murmurhash3_32``, imported at the first call: importing scikit-learn
    takes most of a second, and a batch scan, which hashes with :mod:`~groomwatch.detect.
    fasthash`, does not need it at all."""
    global _murmurhash3_32
    from sklearn.utils import murmurhash3_32

    _murmurhash3_32 = murmurhash3_32
    return int(murmurhash3_32(feature, seed))


def _hashed_index(feature: str, n_features: int) -> int:
    """``FeatureHasher``'s column of one feature: ``abs(h) % n`` of its signed MurmurHash3 (seed
    0), with ``abs(-2**31)`` taken as ``2**31``."""
    h = int(_murmurhash3_32(feature, 0))
    if h == -2147483648:
        return (2147483647 - (n_features - 1)) % n_features
    return abs(h) % n_features


COLUMN_CACHE_SIZE = 200_000
"""Words (or word n-grams) whose columns a :class:`_ColumnCache` remembers before it starts
again (a few tens of MB at most)."""


class _ColumnCache:
    """The columns of one ``word`` or ``char_wb`` hashing entry for already lower-cased text,
    n-gram for n-gram what scikit-learn's analyzer gives (``_word_ngrams`` and
    ``_char_wb_ngrams`` of ``sklearn.feature_extraction.text``), remembered per word.

    ``char_wb`` n-grams never cross a word (``str.split()``: scikit-learn's folding of
    whitespace runs into one space does not change the words), so a word's columns are a
    function of the word; ``word`` n-grams are hashed once per distinct n-gram."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        lo, hi = tuple(config.get("ngram_range", (1, 1)))
        self.min_n, self.max_n = int(lo), int(hi)
        self.n_features = int(config["n_features"])
        self.word = config["analyzer"] == "word"
        self.token_re = (
            re.compile(config.get("token_pattern", r"(?u)\b\w\w+\b")) if self.word else None
        )
        self._known: dict[str, tuple[int, ...] | int] = {}

    @staticmethod
    def supports(config: Mapping[str, Any]) -> bool:
        """``word`` with a token pattern without groups (scikit-learn then takes whole matches),
        or ``char_wb``: the entries :mod:`groomwatch.detect.fasthash` computes too."""
        from groomwatch.detect.fasthash import supports

        return config.get("analyzer") in ("word", "char_wb") and supports(config)

    def _remember(self, key: str, value: tuple[int, ...] | int) -> None:
        if len(self._known) >= COLUMN_CACHE_SIZE:  # bounded: start again rather than grow
            self._known = {}
        self._known[key] = value

    def columns(self, lower: str) -> list[int]:
        """The column of every n-gram of ``lower`` (repeated as often as the n-gram occurs)."""
        known = self._known
        n_features = self.n_features
        out: list[int] = []
        if self.token_re is None:
            for w in lower.split():
                cols = known.get(w)
                if cols is None:
                    cols = tuple(_hashed_index(g, n_features) for g in self._char_grams(w))
                    self._remember(w, cols)
                assert isinstance(cols, tuple)
                out.extend(cols)
            return out
        tokens = self.token_re.findall(lower)
        grams: list[str] = tokens if self.min_n == 1 else []
        if self.max_n > 1:  # scikit-learn's order: unigrams, then bigrams, and so on
            grams = list(grams)
            space_join = " ".join
            for n in range(max(self.min_n, 2), min(self.max_n + 1, len(tokens) + 1)):
                grams.extend(space_join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
        for g in grams:
            col = known.get(g)
            if col is None:
                col = _hashed_index(g, n_features)
                self._remember(g, col)
            assert isinstance(col, int)
            out.append(col)
        return out

    def _char_grams(self, word: str) -> list[str]:
        w = " " + word + " "
        w_len = len(w)
        grams: list[str] = []
        for n in range(self.min_n, self.max_n + 1):
            offset = 0
            grams.append(w[offset : offset + n])
            while offset + n < w_len:
                offset += 1
                grams.append(w[offset : offset + n])
            if offset == 0:  # a short word (shorter than n) counts once
                break
        return grams


class TextHasher:
    """Hashed n-gram counts of texts: one :class:`HashingVectorizer` per entry of ``config``,
    side by side (the second's columns follow the first's)."""

    def __init__(self, config: Sequence[Mapping[str, Any]] = DEFAULT_HASHING) -> None:
        self.config = tuple(dict(c) for c in config)
        for c in self.config:
            analyzer = c["analyzer"]
            if analyzer not in ANALYZERS and analyzer not in ("word", "char", "char_wb"):
                raise ModelError(f"unknown analyzer {analyzer!r} in the model's hashing")
        self.n_features = sum(int(c["n_features"]) for c in self.config)
        self._fast = FastHasher(self.config) if FastHasher.supports(self.config) else None
        self._caches: list[_ColumnCache | None] = [
            _ColumnCache(c) if _ColumnCache.supports(c) else None for c in self.config
        ]

    @cached_property
    def _vectorizers(self) -> list[HashingVectorizer]:
        """scikit-learn's vectorizers, built (and scikit-learn imported) when first needed: the
        vectorised batch path and the streaming path of the shipped model's ``word`` and
        ``char_wb`` entries do without them."""
        from sklearn.feature_extraction.text import HashingVectorizer

        out: list[HashingVectorizer] = []
        for c in self.config:
            analyzer = c["analyzer"]
            if analyzer in ANALYZERS:
                analyzer = ANALYZERS[analyzer]
            out.append(
                HashingVectorizer(
                    analyzer=analyzer,
                    ngram_range=tuple(c.get("ngram_range", (1, 1))),
                    token_pattern=(
                        c.get("token_pattern", r"(?u)\b\w\w+\b") if analyzer == "word" else None
                    ),
                    n_features=int(c["n_features"]),
                    lowercase=not callable(analyzer),
                    alternate_sign=False,
                    norm=None,
                    dtype=np.float64,
                )
            )
        return out

    @cached_property
    def _analyzers(self) -> list[Callable[[str], list[str]]]:
        return [v.build_analyzer() for v in self._vectorizers]

    def columns_of(self, text: str) -> dict[int, int]:
        """Hashed column -> count for one text: the same result as :meth:`transform` on
        ``[text]`` (the same analyzers and scikit-learn's ``murmurhash3_32`` with seed 0, as
        ``FeatureHasher`` uses), without building sparse matrices: the streaming fast path.

        For ``word`` and ``char_wb`` entries (the shipped model's) the n-grams are scikit-learn's,
        computed here per word so that the columns of each word (``char_wb``) and of each word
        n-gram (``word``) are hashed once and remembered (:class:`_ColumnCache`): chat repeats its
        words, and a message then costs a few dictionary lookups per word rather than a Python
        hash call per n-gram."""
        out: dict[int, int] = {}
        offset = 0
        lower: str | None = None
        for i, (c, cache) in enumerate(zip(self.config, self._caches, strict=True)):
            n = int(c["n_features"])
            if cache is not None:
                if lower is None:
                    lower = text.lower()  # scikit-learn's preprocessing, for either entry
                get = out.get
                for col in cache.columns(lower):
                    col += offset
                    out[col] = get(col, 0) + 1
            else:
                for feature in self._analyzers[i](text):
                    col = offset + _hashed_index(feature, n)
                    out[col] = out.get(col, 0) + 1
            offset += n
        return out

    @property
    def vectorised(self) -> bool:
        """Whether the batch path runs the vectorised :class:`FastHasher` (``word`` and
        ``char_wb`` analyzers) rather than scikit-learn's."""
        return self._fast is not None

    def entries(
        self, texts: Sequence[str], table: NDArray[np.int32] | None = None
    ) -> tuple[IntArray, IntArray, FloatArray]:
        """``(row, column, count)`` triples of the hashed counts of ``texts``: the nonzero
        entries of :meth:`transform`, except that a pair may be repeated (its counts add up).
        The vectorised path gives one entry per n-gram occurrence and builds no matrix. With
        ``table`` (hashed column -> kept position or -1, see :attr:`RiskModel.position_table`),
        only the entries of kept columns, numbered by their kept positions."""
        if self._fast is not None:
            try:
                rows, cols = self._fast.entries(texts, table)
            except UnicodeEncodeError:  # lone surrogates: let scikit-learn say what it says
                pass
            else:
                return rows, cols, np.ones(len(rows), dtype=np.float64)
        coo = self._sklearn_transform(texts).tocoo()
        rows, cols = coo.row.astype(np.int64), coo.col.astype(np.int64)
        data = coo.data.astype(np.float64)
        if table is None:
            return rows, cols, data
        pos = table[cols]
        kept = pos >= 0
        return rows[kept], pos[kept].astype(np.int64), data[kept]

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Counts, one row per text (``len(texts) x n_features``), in canonical form (sorted
        column indices, no duplicates): the same matrix as scikit-learn's
        :class:`HashingVectorizer`, computed by :class:`FastHasher` when the configuration
        allows it."""
        if self._fast is not None:
            try:
                # in blocks, so that the per-occurrence arrays stay small on large inputs
                blocks = [
                    self._fast_block(texts[i : i + TRANSFORM_BLOCK])
                    for i in range(0, len(texts), TRANSFORM_BLOCK)
                ]
            except UnicodeEncodeError:
                pass
            else:
                if len(blocks) == 1:
                    return blocks[0]
                if not blocks:
                    return sp.csr_matrix((0, self.n_features))
                return sp.csr_matrix(sp.vstack(blocks, format="csr"))
        return self._sklearn_transform(texts)

    def _fast_block(self, texts: Sequence[str]) -> sp.csr_matrix:
        assert self._fast is not None
        rows, cols = self._fast.entries(texts)
        out = sp.csr_matrix(
            (np.ones(len(rows), dtype=np.float64), (rows, cols)),
            shape=(len(texts), self.n_features),
        )
        out.sum_duplicates()
        return out

    def _sklearn_transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        mats = [v.transform(texts) for v in self._vectorizers]
        if len(mats) == 1:
            return sp.csr_matrix(mats[0])
        return sp.csr_matrix(sp.hstack(mats, format="csr"))


@dataclass(frozen=True, eq=False)
class LinearRisk:
    """The weights of the decision function over kept columns, tactics and length."""

    idf: FloatArray
    coef_text: FloatArray
    coef_tactic: FloatArray
    coef_length: float
    intercept: float
    block: IntArray | None = None
    """Normalisation block of each kept column (all 0: one L2 norm over all columns)."""
    n_blocks: int = 1

    def __post_init__(self) -> None:
        if self.block is None:
            object.__setattr__(self, "block", np.zeros(len(self.idf), dtype=np.int64))

    @property
    def blocks(self) -> IntArray:
        assert self.block is not None
        return self.block

    @cached_property
    def text_weight(self) -> FloatArray:
        """``coef * idf`` per kept column: the running dot product adds this times the TF.
        (Computed once: the weights of a model do not change.)"""
        return self.coef_text * self.idf

    @cached_property
    def idf_squared(self) -> FloatArray:
        """``idf ** 2`` per kept column: the running squared norm adds this times TF squared."""
        return self.idf**2

    def tactic_term(self, tactic_counts: FloatArray) -> FloatArray:
        """``sum_t coef_t log(1 + count_t)`` per row of ``tactic_counts``."""
        if tactic_counts.shape[1] == 0:
            return np.zeros(tactic_counts.shape[0])
        return np.asarray(np.log1p(tactic_counts) @ self.coef_tactic, dtype=np.float64)


def sublinear(counts: FloatArray) -> FloatArray:
    """``1 + log(count)`` for positive counts, 0 for 0."""
    out = np.zeros_like(counts, dtype=np.float64)
    pos = counts > 0
    out[pos] = 1.0 + np.log(counts[pos])
    return out


def tfidf_rows(
    counts: sp.csr_matrix, idf: FloatArray, block: IntArray | None = None, n_blocks: int = 1
) -> sp.csr_matrix:
    """Sublinear TF x IDF of a matrix of counts over kept columns, each row L2-normalised within
    each block of columns (``block[j]`` is column ``j``'s block; one block when ``None``)."""
    x = sp.csr_matrix(counts, dtype=np.float64, copy=True)
    x.sum_duplicates()
    rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
    blk = block[x.indices] if block is not None else np.zeros(len(x.indices), dtype=np.int64)
    x.data = sublinear(x.data) * idf[x.indices]
    key = rows * n_blocks + blk
    norms = np.sqrt(np.bincount(key, weights=x.data**2, minlength=x.shape[0] * n_blocks))
    x.data = x.data / norms[key]
    return x


def column_blocks(columns: IntArray, hasher_config: Sequence[Mapping[str, Any]]) -> IntArray:
    """The block of each hashed column: which of the hashing configuration's vectorizers it
    comes from."""
    edges = np.cumsum([int(c["n_features"]) for c in hasher_config])
    return np.searchsorted(edges, columns, side="right").astype(np.int64)


@dataclass(frozen=True, eq=False)
class RiskModel:
    """A trained model: hashing configuration, kept columns, weights, calibration, threshold."""

    hasher_config: tuple[dict[str, Any], ...]
    columns: IntArray
    linear: LinearRisk
    tactic_names: tuple[str, ...]
    calib_slope: float
    calib_intercept: float
    threshold: float
    policy: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    fusion: FusionConfig | None = None
    """How the text model's risk is fused with the tactic pattern (:mod:`groomwatch.detect.fusion`);
    ``None``: the risk is the text model's alone."""

    def __post_init__(self) -> None:
        n = len(self.columns)
        if not (len(self.linear.idf) == len(self.linear.coef_text) == n):
            raise ModelError("model weights do not match its columns")
        if len(self.linear.coef_tactic) != len(self.tactic_names):
            raise ModelError("model tactic weights do not match its tactic names")
        if n and np.any(np.diff(self.columns) <= 0):
            raise ModelError("model columns must be strictly increasing")

    # --- mapping hashed columns to kept positions ------------------------------------------
    def positions(self, cols: IntArray) -> tuple[IntArray, NDArray[np.bool_]]:
        """Positions in :attr:`columns` of hashed column numbers, and which of them are kept."""
        if len(self.columns) == 0:
            return np.zeros(len(cols), dtype=np.int64), np.zeros(len(cols), dtype=bool)
        pos = np.searchsorted(self.columns, cols)
        pos = np.minimum(pos, len(self.columns) - 1)
        kept = self.columns[pos] == cols
        return pos.astype(np.int64), kept

    @cached_property
    def position_table(self) -> NDArray[np.int32] | None:
        """Hashed column -> kept position (-1: not kept), when the hashed space is small enough
        for a table (one gather per entry instead of a binary search)."""
        n = sum(int(c["n_features"]) for c in self.hasher_config)
        if n > TABLE_LIMIT or len(self.columns) >= 2**31:
            return None
        table = np.full(n, -1, dtype=np.int32)
        table[self.columns] = np.arange(len(self.columns), dtype=np.int32)
        return table

    def kept_entries(
        self, rows: IntArray, cols: IntArray, counts: FloatArray
    ) -> tuple[IntArray, IntArray, FloatArray]:
        """The entries (:meth:`TextHasher.entries`) whose column is kept, with the column
        replaced by its kept position."""
        table = self.position_table
        if table is None:
            pos, kept = self.positions(cols)
            return rows[kept], pos[kept], counts[kept]
        found = table[cols]
        kept = found >= 0
        return rows[kept], found[kept].astype(np.int64), counts[kept]

    def kept_counts(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """Restrict a matrix of hashed counts to the kept columns (``rows x len(columns)``)."""
        coo = counts.tocoo()
        pos, kept = self.positions(coo.col.astype(np.int64))
        return sp.csr_matrix(
            (coo.data[kept], (coo.row[kept], pos[kept])),
            shape=(counts.shape[0], len(self.columns)),
        )

    def risk(self, decision: FloatArray | float) -> FloatArray:
        """Calibrated probability of the decision values."""
        z = self.calib_slope * np.asarray(decision, dtype=np.float64) + self.calib_intercept
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)

    def text_logit(self, decision: float) -> float:
        """The calibrated log-odds of one decision value (before fusion)."""
        return self.calib_slope * decision + self.calib_intercept

    def risk_scalar(self, decision: float) -> float:
        z = self.calib_slope * decision + self.calib_intercept
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)

    # --- artifact ----------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            directory / WEIGHTS_FILE,
            columns=self.columns.astype(np.int64),
            idf=self.linear.idf.astype(np.float64),
            coef_text=self.linear.coef_text.astype(np.float64),
            coef_tactic=self.linear.coef_tactic.astype(np.float64),
        )
        meta = {
            "format_version": FORMAT_VERSION,
            "hashing": list(self.hasher_config),
            "tactics": list(self.tactic_names),
            "normalisation": "per_block" if self.linear.n_blocks > 1 else "joint",
            "coef_length": self.linear.coef_length,
            "intercept": self.linear.intercept,
            "calibration": {"slope": self.calib_slope, "intercept": self.calib_intercept},
            "threshold": self.threshold,
            "policy": self.policy,
            "fusion": None if self.fusion is None else self.fusion.to_dict(),
            "metrics": self.metrics,
            "info": self.info,
        }
        (directory / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> RiskModel:
        meta_path, weights_path = directory / META_FILE, directory / WEIGHTS_FILE
        if not meta_path.is_file() or not weights_path.is_file():
            raise ModelError(f"{directory}: not a model directory ({META_FILE}, {WEIGHTS_FILE})")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            with np.load(weights_path, allow_pickle=False) as w:
                arrays = {k: np.asarray(w[k]) for k in w.files}
        except (OSError, ValueError) as exc:
            raise ModelError(f"{directory}: cannot read the model: {exc}") from exc
        if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
            raise ModelError(f"{directory}: unsupported model format version")
        try:
            columns = arrays["columns"].astype(np.int64)
            per_block = meta.get("normalisation", "joint") == "per_block"
            linear = LinearRisk(
                block=column_blocks(columns, meta["hashing"]) if per_block else None,
                n_blocks=len(meta["hashing"]) if per_block else 1,
                idf=arrays["idf"].astype(np.float64),
                coef_text=arrays["coef_text"].astype(np.float64),
                coef_tactic=arrays["coef_tactic"].astype(np.float64),
                coef_length=float(meta["coef_length"]),
                intercept=float(meta["intercept"]),
            )
            return cls(
                hasher_config=tuple(meta["hashing"]),
                columns=columns,
                linear=linear,
                tactic_names=tuple(meta["tactics"]),
                calib_slope=float(meta["calibration"]["slope"]),
                calib_intercept=float(meta["calibration"]["intercept"]),
                threshold=float(meta["threshold"]),
                policy=dict(meta["policy"]),
                metrics=dict(meta.get("metrics") or {}),
                info=dict(meta.get("info") or {}),
                fusion=None if not meta.get("fusion") else FusionConfig.from_dict(meta["fusion"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{directory}: incomplete model: {exc}") from exc
