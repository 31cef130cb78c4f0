"""Tactic cues over a whole batch of messages at once: :meth:`TacticRegistry.find_many
<groomwatch.detect.tactics.base.TacticRegistry.find_many>`.

A batch scan runs the registry on every message, and most messages have no finding. Called one
message at a time, :meth:`TacticRegistry.find <groomwatch.detect.tactics.base.TacticRegistry.find>`
spends most of its time on the messages that end with nothing: lower-casing, a regular expression
for the words, a set intersection with the cue vocabulary, a dictionary lookup, then the patterns
of the cues those words let through (most of them do not match). Here the ASCII messages of a batch
(nearly all chat) are read together:

1. the batch is joined with newlines, lower-cased and stripped of its apostrophes once, and its
   words (runs of ``[a-z0-9]``, what ``[^\\W_]+`` finds in ASCII) are found with numpy;
2. each word of at most 8 bytes is packed into one 64-bit integer and looked up among the cue
   vocabulary's (anchor and ``also`` words) by a binary search; longer words are looked up in a
   dictionary;
3. which cues each message lets through is then a product of sparse matrices, message x word by
   word x cue, once for the anchors and once for the ``also`` words: exactly the rule of
   ``TacticRegistry._viable_cues``;
4. each cue's pattern is searched, one list comprehension per cue, in the messages that let it
   through;
5. only a message in which some pattern matched, or whose words call for a tactic's own matcher
   (e.g. a stated age), is read again by the registry's own :meth:`find`, which gives its findings.

Step 5 makes the result the per-message one by construction: steps 1-4 only decide which messages
cannot have a finding, and they never leave out one that can (a message is skipped only when every
cue its words let through was searched and did not match, and no tactic's own matcher applies).
Non-ASCII messages take the per-message path.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from groomwatch.detect.tactics.base import Cue, Finding, PreparedText, TacticRegistry, _words

__all__ = ["BatchMatcher", "Candidate"]

U8 = NDArray[np.uint8]
U64 = NDArray[np.uint64]
I64 = NDArray[np.int64]
Bools = NDArray[np.bool_]

Candidate = tuple[int, tuple[int, ...], dict[int, "re.Match[str]"]]
"""A message that may have a finding: its position, the cue numbers its words let through, and
the matches of their patterns."""

PACKED = 8
"""Words of at most this many bytes are looked up as one packed integer."""

SMALL_BATCH = 16
"""Below this many messages the per-message path is as fast (numpy's per-call costs)."""

_APOSTROPHE = ord("'")
_BYTE_MASKS = np.array(
    [(1 << (8 * k)) - 1 for k in range(PACKED)] + [(1 << 64) - 1], dtype=np.uint64
)


def _exclusive_cumsum(values: I64) -> I64:
    out = np.zeros(len(values), dtype=np.int64)
    if len(values) > 1:
        np.cumsum(values[:-1], out=out[1:])
    return out


def _pack_words(buf: U8, starts: I64, lens: I64) -> U64:
    """The bytes of each word ``buf[s:s+n]`` (``n <= PACKED``) as one little-endian integer,
    zero beyond the word: words made of non-zero bytes map one to one to their integers.

    The 8 bytes from every position of ``buf`` are read as one unaligned ``<u8`` (a strided view
    of the buffer, no copy), then masked to the word's length."""
    padded = np.zeros(len(buf) + PACKED, dtype=np.uint8)
    padded[: len(buf)] = buf
    windows: U64 = np.ndarray(
        shape=(len(buf) + 1,), dtype="<u8", buffer=padded.data, offset=0, strides=(1,)
    )
    return np.asarray(windows[starts] & _BYTE_MASKS[lens], dtype=np.uint64)


_WORD_BITS = 64
_SLOT_BITS = 16
_SLOT_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


def _slots(keys: U64) -> I64:
    """A hash slot in ``[0, 2**_SLOT_BITS)`` of each packed word (multiplicative hashing)."""
    return np.asarray((keys * _SLOT_MULTIPLIER) >> np.uint64(64 - _SLOT_BITS), dtype=np.int64)


def _bit_sets(n: int, width: int, rows: Sequence[int], cues: Sequence[int]) -> U64:
    """``n`` bit sets of ``width`` little-endian 64-bit words with bit ``cues[k]`` set in set
    ``rows[k]``."""
    out = np.zeros((n, width), dtype="<u8")
    for r, g in zip(rows, cues, strict=True):
        out[r, g // _WORD_BITS] |= np.uint64(1) << np.uint64(g % _WORD_BITS)
    return out


def _alnum(buf: U8) -> Bools:
    """Which bytes of lower-case ASCII are ``[a-z0-9]`` (comparisons with wrap-around, which
    numpy vectorises, rather than a table lookup per byte)."""
    return np.asarray(((buf - np.uint8(97)) < 26) | ((buf - np.uint8(48)) < 10), dtype=bool)


def _runs(mask: Bools) -> tuple[I64, I64]:
    """Start and end positions of the maximal runs of ``True`` in ``mask``."""
    edges = np.diff(mask.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    return np.flatnonzero(edges == 1).astype(np.int64), np.flatnonzero(edges == -1).astype(np.int64)


class BatchMatcher:
    """The registry's cue index as arrays (built by the registry once its index exists)."""

    def __init__(
        self,
        registry: TacticRegistry,
        index: dict[str, tuple[int, ...]],
        flat: Sequence[tuple[int, Cue | None]],
        always: frozenset[int],
    ) -> None:
        self._registry = registry
        n_cues = len(flat)
        vocab: dict[str, int] = {}

        def word_id(word: str) -> int:
            return vocab.setdefault(word, len(vocab))

        anchor_rows: list[int] = []
        anchor_cols: list[int] = []
        for word, cues in index.items():
            for g in cues:
                anchor_rows.append(word_id(word))
                anchor_cols.append(g)
        also_rows: list[int] = []
        also_cols: list[int] = []
        gate = np.ones(n_cues, dtype=bool)  # passes the ``also`` condition without a word
        self.is_extra = np.zeros(n_cues, dtype=bool)
        for g, (_t, cue) in enumerate(flat):
            if cue is None:
                self.is_extra[g] = True
            elif cue.also:
                gate[g] = False
                for word in cue.also:
                    also_rows.append(word_id(word))
                    also_cols.append(g)
        n_words = max(len(vocab), 1)
        # Per vocabulary word, the cues it lets through as anchor and as ``also`` word, as bit
        # sets (``_WORD_BITS`` cues per little-endian 64-bit word, cue ``g`` at bit ``g``).
        self.n_cues = n_cues
        width = max(1, -(-n_cues // _WORD_BITS))
        self.anchor_bits = _bit_sets(n_words, width, anchor_rows, anchor_cols)
        self.also_bits = _bit_sets(n_words, width, also_rows, also_cols)
        self.gate_bits = _bit_sets(1, width, [0] * int(gate.sum()), np.flatnonzero(gate).tolist())
        self.always_bits = _bit_sets(1, width, [0] * len(always), sorted(always))
        self.has_always = bool(always)
        self.patterns = [None if cue is None else cue.pattern for _t, cue in flat]
        # ASCII words only: an ASCII message has no other.
        short = {w: i for w, i in vocab.items() if w.isascii() and len(w) <= PACKED}
        words = list(short)
        if words:
            raw = np.frombuffer("\n".join(words).encode("ascii"), dtype=np.uint8)
            lens = np.array([len(w) for w in words], dtype=np.int64)
            keys = _pack_words(raw, _exclusive_cumsum(lens + 1), lens)
        else:
            keys = np.zeros(0, dtype=np.uint64)
        order = np.argsort(keys)
        # A bitmap of the vocabulary's hash slots: most words of a message are not cue words,
        # and one lookup in it rules them out before the binary search.
        self.slot_used = np.zeros(1 << _SLOT_BITS, dtype=bool)
        self.slot_used[_slots(keys)] = True
        self.short_keys: U64 = keys[order]
        self.short_ids: I64 = np.array([short[w] for w in words], dtype=np.int64)[order]
        self.long_words: dict[bytes, int] = {
            w.encode("ascii"): i for w, i in vocab.items() if w.isascii() and len(w) > PACKED
        }
        self.longest = max((len(w) for w in self.long_words), default=PACKED)
        self.n_words = n_words

    def _viable(self, n: int, pair_rows: I64, pair_ids: I64) -> tuple[I64, I64]:
        """``(message, cue)`` pairs, ordered by message then cue, of the cues that the words of
        each of ``n`` messages let through (``pair_rows``, ``pair_ids``: the vocabulary words
        found in each message, in message order): an anchor word is there (or the cue has no
        anchors), and an ``also`` word too when the cue has some. Bit sets per message, OR-ed
        over its words."""
        if len(pair_rows):
            first = np.flatnonzero(np.diff(pair_rows, prepend=-1))
            rows = pair_rows[first]
            anchor = np.bitwise_or.reduceat(self.anchor_bits[pair_ids], first, axis=0)
            also = np.bitwise_or.reduceat(self.also_bits[pair_ids], first, axis=0)
        else:
            rows = np.zeros(0, dtype=np.int64)
            anchor = also = self.anchor_bits[:0]
        if self.has_always:  # every message may let a cue through
            full = np.zeros((n, anchor.shape[1]), dtype=anchor.dtype)
            full_also = full.copy()
            full[rows], full_also[rows] = anchor, also
            rows, anchor, also = np.arange(n, dtype=np.int64), full | self.always_bits, full_also
        viable = anchor & (also | self.gate_bits)
        some = np.flatnonzero(viable.any(axis=1))  # most messages let no cue through
        rows, viable = rows[some], viable[some]
        bits = np.unpackbits(viable.view(np.uint8), axis=1, bitorder="little")[:, : self.n_cues]
        at, cues = np.nonzero(bits)
        return rows[at], cues.astype(np.int64)

    def candidates(self, texts: Sequence[str]) -> list[Candidate]:
        """The ASCII ``texts`` that may have a finding, in order (every one that has one is
        among them): position, the cues its words let through (what the registry's
        ``_viable_cues`` gives for them) and the matches of their patterns (by cue number)."""
        n = len(texts)
        joined = "\n".join(texts).lower()
        buf = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
        lens = np.fromiter(map(len, texts), dtype=np.int64, count=n)
        starts = _exclusive_cumsum(lens + 1)
        if "'" in joined:
            apostrophe = buf == _APOSTROPHE
            before = np.concatenate([[0], np.cumsum(apostrophe)])
            starts = starts - before[starts]
            buf = buf[~apostrophe]
        word_start, word_end = _runs(_alnum(buf))
        word_len = word_end - word_start
        # (message, vocabulary word) pairs: the words are looked up first, and only those found
        # are placed in their message
        short = np.flatnonzero(word_len <= PACKED)
        keys = _pack_words(buf, word_start[short], word_len[short])
        maybe = np.flatnonzero(self.slot_used[_slots(keys)])
        short, keys = short[maybe], keys[maybe]
        at = np.minimum(np.searchsorted(self.short_keys, keys), max(len(self.short_keys) - 1, 0))
        if len(self.short_keys):
            hit = self.short_keys[at] == keys
            pair_at = word_start[short[hit]]
            pair_ids = self.short_ids[at[hit]]
        else:
            pair_at = pair_ids = np.zeros(0, dtype=np.int64)
        if self.long_words:
            long = np.flatnonzero((word_len > PACKED) & (word_len <= self.longest))
            if len(long):
                data = buf.tobytes()
                lookup = self.long_words.get
                found = [
                    (s, i)
                    for s, e in zip(word_start[long].tolist(), word_end[long].tolist(), strict=True)
                    if (i := lookup(data[s:e])) is not None
                ]
                if found:
                    extra = np.array(found, dtype=np.int64)
                    pair_at = np.concatenate([pair_at, extra[:, 0]])
                    pair_ids = np.concatenate([pair_ids, extra[:, 1]])
        pair_rows = np.searchsorted(starts, pair_at, side="right").astype(np.int64) - 1
        if len(pair_rows) > 1 and bool((pair_rows[1:] < pair_rows[:-1]).any()):
            order = np.argsort(pair_rows, kind="stable")  # the long words came last
            pair_rows, pair_ids = pair_rows[order], pair_ids[order]
        rows, cues = self._viable(n, pair_rows, pair_ids)
        if len(rows) == 0:
            return []
        keep = set(rows[self.is_extra[cues]].tolist())
        matches: dict[int, dict[int, re.Match[str]]] = {}
        searched = np.flatnonzero(~self.is_extra[cues])
        if len(searched):
            order = np.argsort(cues[searched], kind="stable")
            s_rows = rows[searched][order]
            s_cues = cues[searched][order]
            bounds = np.flatnonzero(np.diff(s_cues)) + 1
            need = np.unique(s_rows)
            stripped: dict[int, str] = {r: texts[r].lower().replace("'", "") for r in need.tolist()}
            patterns = self.patterns
            for part_rows, cue in zip(
                np.split(s_rows, bounds),
                s_cues[np.concatenate([[0], bounds])].tolist(),
                strict=True,
            ):
                pattern = patterns[cue]
                assert pattern is not None
                search = pattern.search
                for r in part_rows.tolist():
                    m = search(stripped[r])
                    if m is not None:
                        matches.setdefault(r, {})[cue] = m
        keep.update(matches)
        if not keep:
            return []
        chosen = sorted(keep)
        lo = np.searchsorted(rows, chosen).tolist()
        hi = np.searchsorted(rows, chosen, side="right").tolist()
        cue_list: list[int] = cues.tolist()
        empty: dict[int, re.Match[str]] = {}
        return [
            (r, tuple(cue_list[a:b]), matches.get(r, empty))
            for r, a, b in zip(chosen, lo, hi, strict=True)
        ]

    def find_many(
        self, texts: Sequence[str], indexes: Sequence[int], authors: Sequence[str | None]
    ) -> dict[int, list[Finding]]:
        """``{position: findings}`` for the positions of ``texts`` with findings: the same as
        ``registry.find(texts[p], indexes[p], authors[p])`` for every position ``p``."""
        registry = self._registry
        find = registry.find
        out: dict[int, list[Finding]] = {}
        if len(texts) < SMALL_BATCH:
            for p, text in enumerate(texts):
                found = find(text, indexes[p], authors[p])
                if found:
                    out[p] = found
            return out
        if "".join(texts).isascii():
            plain: Sequence[int] = range(len(texts))
        else:
            plain = [i for i, t in enumerate(texts) if t.isascii()]
            for p in [i for i, t in enumerate(texts) if not t.isascii()]:
                found = find(texts[p], indexes[p], authors[p])
                if found:
                    out[p] = found
        if not plain:
            return out
        run = registry._run
        for r, viable, matches in self.candidates([texts[i] for i in plain]):
            p = plain[r]
            text = texts[p]
            lower = text.lower()
            stripped = lower.replace("'", "")
            prepared = PreparedText(text, stripped, frozenset(_words(stripped)), lower)
            found = run(prepared, viable, indexes[p], authors[p], matches)
            if found:
                out[p] = found
        if len(out) > 1 and not isinstance(plain, range):
            out = dict(sorted(out.items()))
        return out
