"""A vectorised replacement for scikit-learn's :class:`HashingVectorizer` on a batch of texts.

scikit-learn's hashing spends most of its time in Python: one string object per n-gram (about 85
per chat message), a generator, then ``murmurhash3_32`` per string. A batch scan has a budget of
about 20 microseconds of CPU per message for everything, so this module computes the very same
column numbers without creating n-gram strings:

1. every text is lower-cased on its own (``str.lower`` is context sensitive: a final sigma depends
   on the next character, so lowering a joined batch could differ), split into its tokens
   (``word``: the token pattern; ``char_wb``: ``str.split()``) and the tokens of the whole batch
   are joined into one string (``word``: separated by single spaces, so a word n-gram is one
   contiguous range; ``char_wb``: each word padded with one space on each side, so each character
   n-gram inside a padded word is one contiguous range);
2. the joined string is encoded once to UTF-8 and the byte range of every n-gram is computed with
   numpy (character offsets mapped to byte offsets when the text is not ASCII);
3. MurmurHash3 (x86, 32 bit, seed 0: what ``FeatureHasher`` uses) runs over all byte ranges at
   once in ``uint32`` arithmetic: the 4-byte blocks of the ranges that still have one, the tail,
   the finalisation;
4. the column is ``abs(h) % n_features`` on the signed hash, as in ``FeatureHasher``
   (``abs(-2**31)`` taken as ``2**31``).

The result is one ``(row, column)`` pair per n-gram occurrence; summed, they are exactly
``HashingVectorizer(alternate_sign=False, norm=None, lowercase=True).transform`` of the texts
(``tests/unit/detect/test_fasthash.py`` checks this on arbitrary Unicode with hypothesis). Only the
``word`` analyzer (any token pattern without groups) and ``char_wb`` are supported, with any
``ngram_range`` and ``n_features``; :func:`supports` says whether a configuration is, and
:class:`~groomwatch.detect.model.TextHasher` falls back to scikit-learn otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["FastHasher", "murmur3_ranges", "supports"]

U32 = NDArray[np.uint32]
I64 = NDArray[np.int64]
Table = NDArray[np.int32]

_C1 = np.uint32(0xCC9E2D51)
_C2 = np.uint32(0x1B873593)
_M5 = np.uint32(5)
_N1 = np.uint32(0xE6546B64)
_F1 = np.uint32(0x85EBCA6B)
_F2 = np.uint32(0xC2B2AE35)
_TAIL_MASK = np.array([0, 0xFF, 0xFFFF, 0xFFFFFF], dtype=np.uint32)
_DEFAULT_TOKEN_PATTERN = r"(?u)\b\w\w+\b"  # noqa: S105 - scikit-learn's default, not a secret


def supports(config: Mapping[str, Any]) -> bool:
    """Whether one hashing configuration entry can be computed here: the ``word`` analyzer with
    a token pattern without capture groups, or ``char_wb``; a valid n-gram range."""
    analyzer = config.get("analyzer")
    lo, hi = tuple(config.get("ngram_range", (1, 1)))
    if not (isinstance(lo, int) and isinstance(hi, int) and 1 <= lo <= hi):
        return False
    if analyzer == "word":
        try:
            pattern = re.compile(config.get("token_pattern", _DEFAULT_TOKEN_PATTERN))
        except re.error:
            return False
        return pattern.groups == 0
    return analyzer == "char_wb"


def _rotl(x: U32, r: int) -> U32:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def _words_at(buf: NDArray[np.uint8]) -> U32:
    """The little-endian 32-bit word starting at every byte of ``buf`` (zero-padded past its
    end): one read per block instead of four byte gathers."""
    padded = np.zeros(len(buf) + 4, dtype=np.uint32)
    padded[: len(buf)] = buf
    words = padded[:-3].copy()
    words |= padded[1:-2] << np.uint32(8)
    words |= padded[2:-1] << np.uint32(16)
    words |= padded[3:] << np.uint32(24)
    return words


def murmur3_ranges(buf: NDArray[np.uint8], starts: I64, lengths: I64) -> NDArray[np.int32]:
    """Signed MurmurHash3 x86 32-bit (seed 0) of the byte ranges ``buf[s:s+n]``, all at once:
    equal to ``sklearn.utils.murmurhash3_32(bytes(buf[s:s+n]), 0)`` for each range."""
    n = len(starts)
    if n == 0:
        return np.zeros(0, dtype=np.int32)
    words = _words_at(buf)
    blocks = lengths >> 2
    h = np.zeros(n, dtype=np.uint32)
    uniform = bool(lengths.min() == lengths.max())
    for k in range(int(blocks.max())):
        if uniform or (k == 0 and bool(blocks.min() > 0)):
            k1 = words[starts + 4 * k]
            hk = h
            sel: I64 | None = None
        else:
            sel = np.flatnonzero(blocks > k)
            k1 = words[starts[sel] + 4 * k]
            hk = h[sel]
        k1 *= _C1
        k1 = _rotl(k1, 15)
        k1 *= _C2
        hk = hk ^ k1
        hk = _rotl(hk, 13)
        hk = hk * _M5 + _N1
        if sel is None:
            h = hk
        else:
            h[sel] = hk
    tail = lengths & 3
    if uniform:
        if int(tail[0]):
            k1 = words[starts + 4 * blocks] & _TAIL_MASK[int(tail[0])]
            k1 *= _C1
            k1 = _rotl(k1, 15)
            k1 *= _C2
            h ^= k1
    else:
        sel = np.flatnonzero(tail)
        if len(sel):
            k1 = words[starts[sel] + 4 * blocks[sel]] & _TAIL_MASK[tail[sel]]
            k1 *= _C1
            k1 = _rotl(k1, 15)
            k1 *= _C2
            h[sel] ^= k1
    h ^= lengths.astype(np.uint32)
    h ^= h >> np.uint32(16)
    h *= _F1
    h ^= h >> np.uint32(13)
    h *= _F2
    h ^= h >> np.uint32(16)
    return h.view(np.int32)


def _encode(joined: str) -> tuple[NDArray[np.uint8], I64 | None]:
    """UTF-8 bytes of ``joined`` and the byte offset of every character position (``None`` when
    the text is ASCII and offsets are equal). Raises ``UnicodeEncodeError`` on lone surrogates,
    as scikit-learn does."""
    raw = joined.encode("utf-8")
    buf = np.frombuffer(raw, dtype=np.uint8)
    if len(raw) == len(joined):
        return buf, None
    cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    widths = (
        1
        + (cps >= 0x80).astype(np.int64)
        + (cps >= 0x800).astype(np.int64)
        + (cps >= 0x10000).astype(np.int64)
    )
    offsets = np.zeros(len(cps) + 1, dtype=np.int64)
    np.cumsum(widths, out=offsets[1:])
    return buf, offsets


def _columns(
    buf: NDArray[np.uint8], offsets: I64 | None, starts: I64, ends: I64, n_features: int
) -> I64:
    """Hashed columns of the character ranges ``[starts, ends)`` of the encoded string."""
    if offsets is not None:
        starts, ends = offsets[starts], offsets[ends]
    h = np.abs(murmur3_ranges(buf, starts, ends - starts).astype(np.int64))
    if n_features & (n_features - 1) == 0:  # a power of two: a mask, not a division
        return h & (n_features - 1)
    return h % n_features


def _ranges_from(first: I64, count: I64) -> tuple[I64, I64]:
    """For items ``i`` with ``count[i]`` consecutive values starting at ``first[i]``: the item of
    each value and the value."""
    item = np.repeat(np.arange(len(count), dtype=np.int64), count)
    ends = np.cumsum(count)
    within = np.arange(int(ends[-1]) if len(ends) else 0, dtype=np.int64) - np.repeat(
        ends - count, count
    )
    return item, first[item] + within


def _exclusive_cumsum(values: I64) -> I64:
    out = np.zeros(len(values), dtype=np.int64)
    if len(values) > 1:
        np.cumsum(values[:-1], out=out[1:])
    return out


def _ascii_word(buf: NDArray[np.uint8]) -> NDArray[np.bool_]:
    """Which ASCII bytes are word characters (``[0-9A-Za-z_]``, what ``\\w`` matches in
    ASCII): comparisons with wrap-around, which numpy vectorises, about six times faster than a
    table lookup per byte."""
    letter = ((buf | np.uint8(32)) - np.uint8(97)) < 26
    return np.asarray(letter | ((buf - np.uint8(48)) < 10) | (buf == 95), dtype=bool)


def _ascii_not_space(buf: NDArray[np.uint8]) -> NDArray[np.bool_]:
    """Which ASCII bytes are not ``str.isspace()`` (9-13 and 28-32 are)."""
    space = ((buf - np.uint8(9)) < 5) | ((buf - np.uint8(28)) < 5)
    return np.asarray(~space, dtype=bool)


def _rows_of(positions: I64, text_starts: I64, size: int) -> I64:
    """The text of each position of a buffer of ``size`` bytes whose texts begin at
    ``text_starts`` (ascending, the first at 0): a running count of text beginnings, read at the
    positions (cheaper than a binary search per position)."""
    marks = np.zeros(size + 1, dtype=np.int32)
    marks[text_starts[1:]] = 1
    return np.cumsum(marks, dtype=np.int32)[positions].astype(np.int64)


_WORD_RUN_PATTERNS = {r"(?u)\b\w+\b": 1, r"\w+": 1, r"(?u)\b\w\w+\b": 2}
"""Token patterns that are the maximal runs of word characters of at least this length, which
the ASCII path finds with numpy."""


def _runs(mask: NDArray[np.bool_]) -> tuple[I64, I64]:
    """Start and end positions of the maximal runs of ``True`` in ``mask``."""
    edges = np.diff(mask.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    return np.flatnonzero(edges == 1).astype(np.int64), np.flatnonzero(edges == -1).astype(np.int64)


def _gather_tokens(
    buf: NDArray[np.uint8], start: I64, lens: I64, new_start: I64, size: int
) -> NDArray[np.uint8]:
    """A new buffer of ``size`` spaces with token ``i`` (``buf[start:start+lens]``) copied to
    ``new_start[i]``: the tokens joined with the spacing the analyzer needs."""
    out = np.full(size, 32, dtype=np.uint8)
    if len(start):
        first = _exclusive_cumsum(lens)  # of each token among all token bytes
        flat = np.arange(int(first[-1] + lens[-1]), dtype=np.int64)
        out[flat + np.repeat(new_start - first, lens)] = buf[flat + np.repeat(start - first, lens)]
    return out


_SHORT = 7
"""Tokens of at most this many bytes are grouped by their bytes (packed into one integer)."""


def _distinct_tokens(buf: NDArray[np.uint8], start: I64, lens: I64) -> tuple[I64, I64] | None:
    """Groups equal short tokens (``buf[start:start+lens]``, at most :data:`_SHORT` bytes):
    the position of the first occurrence of each distinct token, and for every token the number
    of its group (-1 for longer tokens, which stay apart); ``None`` when there are too few
    repeats for it to pay. The key of a token is its bytes and its length packed into one
    integer, so equal keys mean equal tokens: the grouping is exact."""
    if len(start) < 2:
        return None
    words = _words_at(np.concatenate([buf, np.zeros(4, dtype=np.uint8)]))
    short = lens <= _SHORT
    s = start[short]
    packed = words[s].astype(np.int64) | (words[s + 4].astype(np.int64) << 32)
    ln = lens[short]
    key = (packed & ((np.int64(1) << (8 * ln)) - 1)) | (ln << 56)
    _, first, group = np.unique(key, return_index=True, return_inverse=True)
    if len(first) > 0.7 * len(key):
        return None
    where = np.flatnonzero(short)
    word_of = np.full(len(start), -1, dtype=np.int64)
    word_of[where] = group.reshape(-1)
    return where[first], word_of


class _Analyzer:
    """One entry of a hashing configuration, vectorised."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        if not supports(config):
            raise ValueError(f"hashing configuration not supported by the fast hasher: {config}")
        self.word = config["analyzer"] == "word"
        lo, hi = tuple(config.get("ngram_range", (1, 1)))
        self.min_n, self.max_n = int(lo), int(hi)
        self.n_features = int(config["n_features"])
        pattern = config.get("token_pattern", _DEFAULT_TOKEN_PATTERN)
        self.token_re = re.compile(pattern) if self.word else None
        self.run_min: int | None = _WORD_RUN_PATTERNS.get(pattern) if self.word else 1

    def entries(self, lowered: Sequence[str], table: Table | None = None) -> tuple[I64, I64]:
        """``(row, column)`` of every n-gram occurrence of the already lower-cased texts (with
        ``table``, only the kept ones, with their kept positions: see :func:`_keep`)."""
        tokens: list[str] = []
        per_text: list[int] = []
        if self.token_re is not None:
            find = self.token_re.findall
            for text in lowered:
                found = find(text)
                tokens.extend(found)
                per_text.append(len(found))
        else:
            for text in lowered:
                found = text.split()
                tokens.extend(found)
                per_text.append(len(found))
        if not tokens:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        lens = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
        row = np.repeat(np.arange(len(per_text), dtype=np.int64), per_text)
        if self.word:
            buf, offsets = _encode(" ".join(tokens))
            out = self._word_grams(buf, offsets, _exclusive_cumsum(lens + 1), lens, row)
        else:
            buf, offsets = _encode(" " + "  ".join(tokens) + " ")
            out = self._char_grams(buf, offsets, _exclusive_cumsum(lens + 2), lens + 2, row)
        return _keep(*out, table)

    def entries_ascii(
        self, buf: NDArray[np.uint8], text_starts: I64, table: Table | None = None
    ) -> tuple[I64, I64]:
        """:meth:`entries` for ASCII texts, lower-cased and joined by a newline into ``buf``
        (``text_starts``: where each text begins), with no Python work per token: tokens are
        runs of word (``word``) or non-space (``char_wb``) bytes found with numpy."""
        assert self.run_min is not None
        if self.word:
            start, end = _runs(_ascii_word(buf))
        else:
            start, end = _runs(_ascii_not_space(buf))
        lens = end - start
        if self.run_min > 1:
            keep = lens >= self.run_min
            start, lens = start[keep], lens[keep]
        row = _rows_of(start, text_starts, len(buf))
        pad = 1 if self.word else 2
        new_start = _exclusive_cumsum(lens + pad)
        size = int(new_start[-1] + lens[-1] + pad) if len(lens) else 0
        if self.word:
            joined = _gather_tokens(buf, start, lens, new_start, size)
            return _keep(*self._word_grams(joined, None, new_start, lens, row), table)
        distinct = _distinct_tokens(buf, start, lens)
        if distinct is None:
            joined = _gather_tokens(buf, start, lens, new_start + 1, size)
            return _keep(*self._char_grams(joined, None, new_start, lens + 2, row), table)
        # The n-grams of a word are the same wherever it occurs: compute them once for each
        # distinct short word, then give every occurrence its word's columns; longer tokens
        # are computed as they come.
        first, word_of = distinct
        long_tokens = np.flatnonzero(word_of < 0)
        n_distinct = len(first)
        pick = np.concatenate([first, long_tokens])
        p_start, p_lens = start[pick], lens[pick]
        p_new_start = _exclusive_cumsum(p_lens + 2)
        p_size = int(p_new_start[-1] + p_lens[-1] + 2)
        joined = _gather_tokens(buf, p_start, p_lens, p_new_start + 1, p_size)
        gram_of, gram_col = self._char_grams(
            joined, None, p_new_start, p_lens + 2, np.arange(len(pick), dtype=np.int64)
        )
        # (the columns a model does not keep are dropped before they are repeated)
        gram_of, gram_col = _keep(gram_of, gram_col, table)
        is_word = gram_of < n_distinct
        long_rows = row[long_tokens][gram_of[~is_word] - n_distinct]
        long_cols = gram_col[~is_word]
        gram_word = gram_of[is_word]
        order = np.argsort(gram_word, kind="stable")
        by_word = gram_col[is_word][order]
        n_grams = np.bincount(gram_word, minlength=n_distinct).astype(np.int64)
        occ = np.flatnonzero(word_of >= 0)
        w = word_of[occ]
        occurrence, at = _ranges_from(_exclusive_cumsum(n_grams)[w], n_grams[w])
        return (
            np.concatenate([row[occ][occurrence], long_rows]),
            np.concatenate([by_word[at], long_cols]),
        )

    def _word_grams(
        self, buf: NDArray[np.uint8], offsets: I64 | None, start: I64, lens: I64, row: I64
    ) -> tuple[I64, I64]:
        """Word n-grams: tokens at ``start`` (length ``lens``) of ``buf`` separated by single
        spaces; an n-gram does not cross texts (``row``)."""
        end = start + lens
        rows: list[I64] = []
        cols: list[I64] = []
        for n in range(self.min_n, self.max_n + 1):
            if n > len(start):
                break
            first = np.arange(len(start) - n + 1)
            if n > 1:
                first = first[row[first] == row[first + n - 1]]
            rows.append(row[first])
            cols.append(_columns(buf, offsets, start[first], end[first + n - 1], self.n_features))
        return _concat(rows), _concat(cols)

    def _char_grams(
        self, buf: NDArray[np.uint8], offsets: I64 | None, pstart: I64, plen: I64, row: I64
    ) -> tuple[I64, I64]:
        """``char_wb`` n-grams inside the padded words at ``pstart`` (length ``plen``)."""
        rows: list[I64] = []
        cols: list[I64] = []
        short = np.flatnonzero(plen < self.min_n)
        if len(short):  # a padded word shorter than every n counts once, whole
            rows.append(row[short])
            cols.append(
                _columns(buf, offsets, pstart[short], pstart[short] + plen[short], self.n_features)
            )
        # Padded words tile the joined text: position ``q`` starts an n-gram of its word when
        # at least ``n`` characters of the word remain from it.
        size = int(pstart[-1] + plen[-1]) if len(plen) else 0
        left = np.repeat(pstart + plen, plen) - np.arange(size, dtype=np.int64)
        row_at = np.repeat(row, plen)
        for n in range(self.min_n, self.max_n + 1):
            gram_start = np.flatnonzero(left >= n)
            if len(gram_start) == 0:
                break
            rows.append(row_at[gram_start])
            cols.append(_columns(buf, offsets, gram_start, gram_start + n, self.n_features))
        return _concat(rows), _concat(cols)


def _keep(rows: I64, cols: I64, table: Table | None) -> tuple[I64, I64]:
    """The entries whose column ``table`` keeps (``table[col] >= 0``), with ``table[col]``
    as their column; all of them unchanged without a table."""
    if table is None:
        return rows, cols
    pos = table[cols]
    kept = pos >= 0
    return rows[kept], pos[kept].astype(np.int64)


def _concat(parts: list[I64]) -> I64:
    if not parts:
        return np.zeros(0, dtype=np.int64)
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts)


class FastHasher:
    """The hashed n-gram occurrences of texts under a hashing configuration (a sequence of
    entries side by side, the second's columns following the first's), computed in batch."""

    def __init__(self, config: Sequence[Mapping[str, Any]]) -> None:
        self._analyzers = [_Analyzer(c) for c in config]
        self.n_features = sum(a.n_features for a in self._analyzers)

    @staticmethod
    def supports(config: Sequence[Mapping[str, Any]]) -> bool:
        return bool(config) and all(supports(c) for c in config)

    def entries(self, texts: Sequence[str], table: Table | None = None) -> tuple[I64, I64]:
        """``(row, column)`` for every n-gram occurrence in ``texts`` (row = text position); the
        number of occurrences of a pair is its count in scikit-learn's matrix. With ``table``
        (hashed column -> kept position, -1 for a column not kept; length :attr:`n_features`),
        only the kept occurrences, with their kept positions instead of hashed columns.

        ASCII texts (most chat) take the numpy path of :meth:`_Analyzer.entries_ascii`; the
        others are lower-cased and tokenised one by one in Python."""
        if "".join(texts).isascii():  # one check in C for the whole batch (the usual case)
            return self._entries(texts, None, table)
        ascii_rows = [i for i, t in enumerate(texts) if t.isascii()]
        if not ascii_rows:
            return self._entries([], texts, table)
        other = [t for t in texts if not t.isascii()]
        a_rows, a_cols = self._entries([texts[i] for i in ascii_rows], None, table)
        o_rows, o_cols = self._entries([], other, table)
        is_ascii = np.zeros(len(texts), dtype=bool)
        is_ascii[ascii_rows] = True
        a_map, o_map = np.flatnonzero(is_ascii), np.flatnonzero(~is_ascii)
        return (
            np.concatenate([a_map[a_rows], o_map[o_rows]]),
            np.concatenate([a_cols, o_cols]),
        )

    def _entries(
        self, ascii_texts: Sequence[str], other: Sequence[str] | None, table: Table | None
    ) -> tuple[I64, I64]:
        """Entries of ASCII texts (numpy path), or of ``other`` texts (Python tokens) when
        given."""
        if other is not None:
            lowered = [t.lower() for t in other]
        else:
            joined = "\n".join(ascii_texts).lower().encode("ascii")
            buf = np.frombuffer(joined, dtype=np.uint8)
            lens = np.fromiter(map(len, ascii_texts), dtype=np.int64, count=len(ascii_texts))
            text_starts = _exclusive_cumsum(lens + 1)
        rows: list[I64] = []
        cols: list[I64] = []
        offset = 0
        for analyzer in self._analyzers:
            part = None if table is None else table[offset : offset + analyzer.n_features]
            if other is not None or analyzer.run_min is None:
                if other is None:
                    lowered = [t.lower() for t in ascii_texts]
                r, c = analyzer.entries(lowered, part)
            else:
                r, c = analyzer.entries_ascii(buf, text_starts, part)
            rows.append(r)
            cols.append(c + offset if offset and table is None else c)
            offset += analyzer.n_features
        return _concat(rows), _concat(cols)
