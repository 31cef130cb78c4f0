"""The streaming early-warning monitor: one conversation, one message at a time.

The monitor keeps the running sums of the model's text representation (counts of the kept hashed
columns, the dot product with the weights, the squared norm), the tactic counts, the length and the
persistence run of the alert policy. Each message costs work in proportion to its own features.
Its state is a small JSON-serialisable dictionary without any message text: the HTTP API stores it
after every message and restores it with :meth:`Detector.monitor(state=...)
<groomwatch.detect.detector.Detector.monitor>`; a restored monitor continues exactly as the
original would have.

The per-column counts, by far the largest part of the state (hundreds of entries after a few dozen
messages), are stored packed: ``[columns, counts, type]``, base64 strings of little-endian arrays
(see :func:`pack_counts`). Written and read as a JSON object of a few hundred ``"column": count``
pairs, they cost the API ~0.25 ms to save and ~0.5 ms to decode and restore on every append;
packed, both take a few tens of microseconds, every count is kept bit for bit (a restored monitor
still continues exactly), and the stored state is smaller. States of version 3 (counts as a JSON
object) are still restored.

In memory the monitor keeps the counts in that packed layout (:class:`_KeptCounts`: two arrays
and an index), so saving them copies two buffers (~3 us for 500 counts, against ~25 us to
convert them from a dictionary), and a restored monitor takes about half the memory it did
(~26 KiB after 30 messages of the API benchmark, from ~50 KiB). The update looks up its
logarithms in tables computed with ``math.log`` (:class:`_LogTable`, :class:`_StepTable`): the
same floats, so the risks are the same bit for bit (``tests/unit/detect/test_monitor_reference.py``
compares them with the plain computation).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import sys
import weakref
from array import array
from collections.abc import Mapping, MutableSequence, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from groomwatch.conversation import Message, Participant
from groomwatch.detect.attribution import Tally, add_to_tally, choose_suspect
from groomwatch.detect.fusion import PatternTracker, fused_step
from groomwatch.detect.model import LinearRisk
from groomwatch.detect.policy import AlertPolicy, persistence_step
from groomwatch.detect.scoring import find_in_unit, unit_texts
from groomwatch.detect.tactics.base import Finding
from groomwatch.detect.units import LONG_MESSAGE_TOKENS, count_tokens
from groomwatch.errors import InputError

if TYPE_CHECKING:
    from groomwatch.detect.detector import Detector

STATE_VERSION = 4
READABLE_STATE_VERSIONS = (3, 4)
"""Version 3 stored the counts as a JSON object; version 4 packs them (see the module's text)."""
_STATE_JSON = json.JSONEncoder(separators=(",", ":"))

# The stored byte order, whatever this machine's. Counts are sums of whole feature counts, so they
# are stored as 16-bit integers when they all fit (exact, and half the size), else as float64.
_COLUMNS = np.dtype("<i4")
_COUNT_TYPES: dict[str, np.dtype[Any]] = {"u2": np.dtype("<u2"), "f8": np.dtype("<f8")}


def _unpack(dtype: np.dtype[Any], text: Any) -> npt.NDArray[Any]:
    if not isinstance(text, str):
        raise TypeError("packed counts must be strings")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError("packed counts are not base64") from exc
    return np.frombuffer(raw, dtype=dtype)  # ValueError if not a whole number of items


def _b64(values: npt.NDArray[Any]) -> str:
    return base64.b64encode(values.tobytes()).decode("ascii")


def pack_counts(counts: Mapping[int, float]) -> list[str]:
    """``[columns, counts, type]``: base64 of little-endian int32 columns and of the counts as
    ``u2`` (16-bit, when every count is a whole number below 65,536: the usual case) or ``f8``
    (float64), in the mapping's order, so that packing a restored monitor's counts gives the
    same strings. Both are exact."""
    n = len(counts)
    values = np.fromiter(counts.values(), np.float64, n)
    kind = "f8"
    if n and values.max() < 65536 and bool((values == np.floor(values)).all()):
        kind = "u2"
    return [
        _b64(np.fromiter(counts.keys(), _COLUMNS, n)),
        _b64(values.astype(_COUNT_TYPES[kind])),
        kind,
    ]


def unpack_counts(packed: Any, n_cols: int) -> dict[int, float]:
    """The inverse of :func:`pack_counts`; also takes version 3's ``{"column": count}`` object.
    Raises ``ValueError``/``TypeError``/``KeyError`` on anything damaged or out of range."""
    if isinstance(packed, Mapping):
        counts = {int(k): float(v) for k, v in packed.items()}
        if any(not 0 <= k < n_cols or not v > 0 for k, v in counts.items()):
            raise ValueError("counts out of range")
        return counts
    if not isinstance(packed, list | tuple) or len(packed) != 3:
        raise ValueError("counts must be [columns, counts, type]")
    cols = _unpack(_COLUMNS, packed[0])
    vals = _unpack(_COUNT_TYPES[packed[2]], packed[1]).astype(np.float64)
    if len(cols) != len(vals):
        raise ValueError("columns and counts differ in length")
    if len(cols) and (cols.min() < 0 or cols.max() >= n_cols or not vals.min() > 0):
        raise ValueError("counts out of range")
    out = dict(zip(cols.tolist(), vals.tolist(), strict=True))
    if len(out) != len(cols):
        raise ValueError("a column is repeated")
    return out


# The monitor keeps its counts in the standard library's arrays, in the packed state's layout:
# C ints of 4 bytes and unsigned shorts of 2 (every platform CPython runs on; numpy's path
# otherwise), byte-swapped on a big-endian machine.
_ARRAYS = array("i").itemsize == 4 and array("H").itemsize == 2
_SWAP = sys.byteorder != "little"


def _b2a(values: array[Any]) -> str:
    if _SWAP:
        values = array(values.typecode, values)
        values.byteswap()
    return binascii.b2a_base64(values.tobytes(), newline=False).decode("ascii")


def _a2b(text: Any, typecode: str) -> tuple[array[Any], bytes] | None:
    if not isinstance(text, str):
        return None
    try:
        raw = binascii.a2b_base64(text, strict_mode=True)  # as b64decode(validate=True)
        values = array(typecode)
        values.frombytes(raw)  # ValueError if not a whole number of items
    except (binascii.Error, ValueError):
        return None
    if _SWAP:
        values.byteswap()
    return values, raw


class _KeptCounts:
    """The counts of the kept columns a monitor has seen, in the order first seen: ``index``
    (kept position -> slot), ``cols`` (the positions, int32) and ``vals`` (the counts: uint16,
    or a list once a count does not fit 16 bits or was restored as a non-whole float64).

    This is the packed state's own layout (see :func:`pack_counts`), so saving the counts is a
    copy of two byte buffers, not a conversion of hundreds of Python numbers, and restoring
    them reads the buffers back. The counts are whole numbers (sums of whole feature counts);
    kept as ``int``, they give exactly the floats' arithmetic. The index's keys and values are
    the ``int`` objects shared by every monitor of the detector (:class:`_Lookups`), so a
    monitor's counts cost the dictionary and the two arrays, no number objects of their own."""

    __slots__ = ("cols", "index", "vals")

    def __init__(self) -> None:
        self.index: dict[int, int] = {}
        self.cols: array[int] = array("i")
        self.vals: MutableSequence[Any] = array("H")  # uint16 array, or a list of numbers

    def __len__(self) -> int:
        return len(self.cols)

    def widen(self) -> list[float]:
        """The counts as a list (one no longer fits 16 bits)."""
        vals = self.vals = list(self.vals)
        return vals

    def as_dict(self) -> dict[int, float]:
        """Position -> count (a float), in the order first seen."""
        return {c: float(v) for c, v in zip(self.cols, self.vals, strict=True)}

    def packed(self) -> list[str]:
        """:func:`pack_counts` of :meth:`as_dict`, the same strings."""
        if len(self.cols) and isinstance(self.vals, array) and _ARRAYS:
            return [_b2a(self.cols), _b2a(self.vals), "u2"]  # every count whole, 1-65,535
        return pack_counts(self.as_dict())

    @classmethod
    def from_mapping(cls, counts: Mapping[int, float], keys: Sequence[int]) -> _KeptCounts:
        """From :func:`unpack_counts` (checked there): uint16 when every count is whole and
        below 65,536, else a list of the floats."""
        out = cls()
        out.index = {keys[c]: keys[i] for i, c in enumerate(counts)}
        out.cols = array("i", counts.keys())
        values = list(counts.values())
        if _ARRAYS and all(v.is_integer() and v < 65536 for v in values):
            out.vals = array("H", [int(v) for v in values])
        else:
            out.vals = values
        return out

    @classmethod
    def from_packed(cls, packed: Any, n_cols: int, keys: Sequence[int]) -> _KeptCounts | None:
        """Packed ``u2`` counts read back directly; None for anything else (version 3, ``f8``,
        or damaged: the caller then goes through :func:`unpack_counts`, which says what is
        wrong), so what is refused is exactly what :func:`unpack_counts` refuses."""
        if not _ARRAYS or not isinstance(packed, list) or len(packed) != 3 or packed[2] != "u2":
            return None
        cols, vals = _a2b(packed[0], "i"), _a2b(packed[1], "H")
        if cols is None or vals is None or len(cols[0]) != len(vals[0]):
            return None
        if len(cols[0]):
            c, v = np.frombuffer(cols[1], _COLUMNS), np.frombuffer(vals[1], _COUNT_TYPES["u2"])
            if c.min() < 0 or c.max() >= n_cols or v.min() == 0:
                return None
        out = cls()
        out.cols, out.vals = cols[0], vals[0]
        # slot i is keys[i]: ``keys`` is longer than the counts, and zip stops at their end
        out.index = dict(zip(map(keys.__getitem__, out.cols), keys, strict=False))
        if len(out.index) != len(out.cols):
            return None  # a column is repeated
        return out


class _LogTable(dict[float, float]):
    """The sublinear count of one column, ``1 + log(n)`` for ``n > 0`` and 0 for ``n = 0``: the
    values of the whole counts below :data:`_LOG_TABLE_SIZE` looked up (computed once with
    ``math.log``, so bit for bit what computing them again gives), any other count computed.
    ``int`` and ``float`` keys of equal value find the same entry."""

    def __missing__(self, n: float) -> float:
        return 1.0 + math.log(n) if n > 0 else 0.0


class _StepTable(dict[float, tuple[float, float]]):
    """For a count ``n`` that grows by one: ``(g(n + 1) - g(n), g(n + 1) ** 2 - g(n) ** 2)``
    with ``g`` the sublinear count, as :meth:`Monitor._add_counts` computes them (the same
    operations in the same order, so the same bits), looked up for the whole counts below
    :data:`_LOG_TABLE_SIZE`. Most features of a chat message occur once in it."""

    def __missing__(self, n: float) -> tuple[float, float]:
        g_new, g_old = _G[n + 1], _G[n]
        return g_new - g_old, g_new * g_new - g_old * g_old


_LOG_TABLE_SIZE = 4096
_G = _LogTable({0: 0.0})
for _n in range(1, _LOG_TABLE_SIZE):
    _G[_n] = 1.0 + math.log(_n)
_STEP = _StepTable()
for _n in range(_LOG_TABLE_SIZE - 1):
    _STEP[_n] = _StepTable.__missing__(_STEP, _n)


@dataclass(frozen=True, slots=True)
class _Lookups:
    """What the monitor looks up per hashed column, built once per detector: the kept position
    of a hashed column (the detector's own ``column_positions``), per position its weight,
    squared idf and block together (one list index instead of three), and ``keys``: the
    ``int`` objects ``0 .. n - 1`` (those of ``positions``), which the monitors' counts share."""

    positions: Mapping[int, int]
    terms: list[tuple[float, float, int]]
    keys: list[int]


_LOOKUPS: weakref.WeakKeyDictionary[Detector, _Lookups] = weakref.WeakKeyDictionary()


def _lookups(detector: Detector) -> _Lookups:
    found = _LOOKUPS.get(detector)
    if found is None:
        positions = detector.column_positions
        keys = list(range(len(detector.block_list)))  # keys[i] == i, whatever positions holds
        for p in positions.values():
            keys[p] = p  # the same int object as the detector's
        terms = list(
            zip(detector.text_weight_list, detector.idf2_list, detector.block_list, strict=True)
        )
        found = _LOOKUPS[detector] = _Lookups(positions, terms, keys)
    return found


class MonitorStateError(InputError):
    """A saved monitor state cannot be restored: another model, another state version, or a
    damaged state. Rebuild the monitor by feeding the stored messages again
    (:meth:`Detector.replay <groomwatch.detect.detector.Detector.replay>`)."""


@dataclass(frozen=True, slots=True)
class StreamUpdate:
    """What one message changed: the risk after it, the alert state now, whether the warning
    fired at this message, the new findings in it and the current suspect (once the warning has
    fired; ``None`` before, or when messages have no authors)."""

    index: int
    risk: float
    alert: bool
    fired: bool
    first_alert: int | None
    findings: tuple[Finding, ...]
    suspect: str | None
    message_risk: float = 0.0
    components: Mapping[str, float] | None = None
    """The parts of the risk after this message (see :class:`Assessment
    <groomwatch.detect.detector.Assessment>`)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "risk": round(self.risk, 6),
            "alert": self.alert,
            "fired": self.fired,
            "first_alert": self.first_alert,
            "suspect": self.suspect,
            "message_risk": round(self.message_risk, 6),
            "findings": [f.to_dict() for f in self.findings],
            "components": {k: round(v, 6) for k, v in (self.components or {}).items()},
        }


def _decision(
    linear: LinearRisk, dot: list[float], sq: list[float], tac: float, tokens: float
) -> float:
    """:func:`groomwatch.detect.scoring.combine` for one set of running sums."""
    text = dot[0] / math.sqrt(sq[0]) if sq[0] > 0 else 0.0
    for d, q in zip(dot[1:], sq[1:], strict=True):
        text += d / math.sqrt(q) if q > 0 else 0.0
    return text + tac + linear.coef_length * math.log1p(tokens) + linear.intercept


class Monitor:
    """Streaming risk of one conversation under an :class:`AlertPolicy`."""

    def __init__(
        self,
        detector: Detector,
        policy: AlertPolicy,
        state: Mapping[str, Any] | None = None,
        participants: Sequence[Participant] = (),
    ) -> None:
        self._detector = detector
        self.policy = policy
        self._policy_cache: tuple[AlertPolicy, dict[str, Any]] | None = None
        self._lookups = _lookups(detector)
        self._counts = _KeptCounts()
        self._tactics: dict[str, float] = {}
        self._authors: dict[str, Tally] = {}
        self._dot = [0.0] * detector.model.linear.n_blocks
        self._sq = [0.0] * detector.model.linear.n_blocks
        self._tac = 0.0
        self._tokens = 0.0
        self._run = 0
        self.n_units = 0
        self.n_messages = 0
        self.risk = 0.0  # no messages, no evidence
        self.alert = False
        self.first_alert: int | None = None
        fusion = detector.model.fusion
        self._pattern = (
            None if fusion is None else PatternTracker.for_participants(fusion, participants)
        )
        self.components: dict[str, float] = {}
        if state is not None:
            self._restore(state)

    # --- the stream ----------------------------------------------------------------------------
    def update(self, message: Message) -> StreamUpdate:
        """Read one more message; the work is proportional to the message's own features.

        Plain Python numbers on purpose: per message there are a few dozen features, where
        numpy's per-call overhead would dominate. The arithmetic is the batch path's, term for
        term, in the same order (so the running sums are the same bit for bit). What makes it
        cheap: the counts are ``int`` (exact sums of whole feature counts), their sublinear
        values ``1 + log(n)`` come from a table (:class:`_LogTable`), a kept column's weight,
        squared idf and block come in one look-up, and the sums of up to two blocks (the
        shipped model's word and character blocks) are local variables."""
        det = self._detector
        model = det.model
        linear = model.linear
        index = self.n_messages
        author = message.author
        text = message.text
        n_tokens = count_tokens(text)
        # One unit unless the message is long (units.split_units counts the same tokens).
        units = [(0, text)] if n_tokens <= LONG_MESSAGE_TOKENS else unit_texts(text)
        found_all: list[Finding] = []
        fired = False
        message_risk = 0.0
        two_blocks = linear.n_blocks <= 2
        for offset, unit_text in units:
            found = find_in_unit(det.registry, unit_text, offset, index, author)
            if two_blocks:
                own_dot, own_sq = self._add_counts(unit_text)
            else:
                own_dot, own_sq = self._add_counts_any_blocks(unit_text)
            d_tac = own_tac = 0.0
            if found:
                found_all.extend(found)
                t_added: dict[str, float] = {}
                for f in found:
                    if f.tactic in det.tactic_index:
                        t_added[f.tactic] = t_added.get(f.tactic, 0.0) + 1.0
                for name, added in t_added.items():
                    coef = det.tactic_coef[name]
                    before = self._tactics.get(name, 0.0)
                    d_tac += (math.log1p(before + added) - math.log1p(before)) * coef
                    own_tac += math.log1p(added) * coef
                    self._tactics[name] = before + added
                if self._pattern is not None:
                    self._pattern.add(author, found)
            tokens = float(n_tokens if len(units) == 1 else count_tokens(unit_text))
            self._tac += d_tac
            self._tokens += tokens
            self.n_units += 1
            self.risk, self.components = fused_step(
                model.fusion,
                model.text_logit(_decision(linear, self._dot, self._sq, self._tac, self._tokens)),
                self._tokens,
                self._pattern,
            )
            own = model.risk_scalar(_decision(linear, own_dot, own_sq, own_tac, tokens))
            if own > message_risk:
                message_risk = own
            was = self.alert
            self._run, self.alert = persistence_step(
                self.policy, self.risk, self._run, self.n_units
            )
            if self.alert and not was:
                fired = True
                if self.first_alert is None:
                    self.first_alert = index
        if author is not None:
            add_to_tally(self._authors, author, message_risk, found_all)
        self.n_messages += 1
        return StreamUpdate(
            index=index,
            risk=self.risk,
            alert=self.alert,
            fired=fired,
            first_alert=self.first_alert,
            findings=tuple(found_all),
            suspect=self.suspect,
            message_risk=message_risk,
            components=dict(self.components),
        )

    def _kept_entries(self, text: str) -> list[tuple[int, int]]:
        """``(position, count)`` of the kept columns of one unit, in position order."""
        get = self._lookups.positions.get
        entries = [
            (pos, n)
            for col, n in self._detector.hasher.columns_of(text).items()
            if (pos := get(col)) is not None
        ]
        entries.sort()
        return entries

    def _add_counts(self, text: str) -> tuple[list[float], list[float]]:
        """Add one unit's kept counts (a model of one or two blocks): the running dot product
        and squared norm move on; returns the unit's own dot products and squared norms."""
        counts = self._counts
        index, cols, vals = counts.index, counts.cols, counts.vals
        keys, terms = self._lookups.keys, self._lookups.terms
        g, step = _G, _STEP
        dd0 = dd1 = ds0 = ds1 = od0 = od1 = os0 = os1 = 0.0
        for pos, added in self._kept_entries(text):
            i = index.get(pos)
            if i is None:  # a column new to the conversation
                before = 0
                i = index[pos] = keys[len(cols)]
                cols.append(pos)
                vals.append(0)
            else:
                before = vals[i]
            after = before + added
            try:
                vals[i] = after
            except OverflowError:  # beyond 16 bits
                vals = counts.widen()
                vals[i] = after
            w, q, b = terms[pos]
            if added == 1:  # g(1) = 1: the own terms are w * 1.0 and q * (1.0 * 1.0), exactly
                d_g, d_g2 = step[before]
                if b:
                    dd1 += w * d_g
                    ds1 += q * d_g2
                    od1 += w
                    os1 += q
                else:
                    dd0 += w * d_g
                    ds0 += q * d_g2
                    od0 += w
                    os0 += q
                continue
            g_new = g[after]
            g_old = g[before]
            g_own = g[added]
            if b:
                dd1 += w * (g_new - g_old)
                ds1 += q * (g_new * g_new - g_old * g_old)
                od1 += w * g_own
                os1 += q * (g_own * g_own)
            else:
                dd0 += w * (g_new - g_old)
                ds0 += q * (g_new * g_new - g_old * g_old)
                od0 += w * g_own
                os0 += q * (g_own * g_own)
        dot, sq = self._dot, self._sq
        dot[0] += dd0
        sq[0] += ds0
        if len(dot) == 1:
            return [od0], [os0]
        dot[1] += dd1
        sq[1] += ds1
        return [od0, od1], [os0, os1]

    def _add_counts_any_blocks(self, text: str) -> tuple[list[float], list[float]]:
        """:meth:`_add_counts` for a model of any number of blocks."""
        counts = self._counts
        index, cols, vals = counts.index, counts.cols, counts.vals
        keys, terms = self._lookups.keys, self._lookups.terms
        g = _G
        nb = len(self._dot)
        d_dot, d_sq = [0.0] * nb, [0.0] * nb
        own_dot, own_sq = [0.0] * nb, [0.0] * nb
        for pos, added in self._kept_entries(text):
            i = index.get(pos)
            if i is None:
                before = 0
                i = index[pos] = keys[len(cols)]
                cols.append(pos)
                vals.append(0)
            else:
                before = vals[i]
            after = before + added
            try:
                vals[i] = after
            except OverflowError:
                vals = counts.widen()
                vals[i] = after
            g_new = g[after]
            g_old = g[before]
            g_own = g[added]
            w, q, b = terms[pos]
            d_dot[b] += w * (g_new - g_old)
            d_sq[b] += q * (g_new * g_new - g_old * g_old)
            own_dot[b] += w * g_own
            own_sq[b] += q * (g_own * g_own)
        for b in range(nb):
            self._dot[b] += d_dot[b]
            self._sq[b] += d_sq[b]
        return own_dot, own_sq

    @property
    def suspect(self) -> str | None:
        """The participant most likely to be the groomer, once the warning has fired."""
        if self.first_alert is None:
            return None
        return choose_suspect(self._authors)

    # --- state ---------------------------------------------------------------------------------
    def _policy_dict(self) -> dict[str, Any]:
        """``self.policy.to_dict()``, kept while the policy is equal (``dataclasses.asdict`` is
        slow, and the API saves the state, with its policy, after every append)."""
        cached = self._policy_cache
        if cached is None or cached[0] != self.policy:
            cached = self._policy_cache = (self.policy, self.policy.to_dict())
        return dict(cached[1])

    def state_dict(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot without message text. Its size is bounded by the number
        of the model's kept columns, tactics and authors."""
        return {
            "version": STATE_VERSION,
            "model": self._detector.fingerprint,
            "policy": self._policy_dict(),
            "counts": self._counts.packed(),
            "tactics": dict(self._tactics),
            "authors": {a: list(v) for a, v in self._authors.items()},
            "dot": list(self._dot),
            "sq": list(self._sq),
            "tac": self._tac,
            "tokens": self._tokens,
            "run": self._run,
            "n_units": self.n_units,
            "n_messages": self.n_messages,
            "risk": self.risk,
            "alert": self.alert,
            "first_alert": self.first_alert,
            "pattern": None if self._pattern is None else self._pattern.state_dict(),
            "components": dict(self.components),
        }

    def state_json(self) -> str:
        """:meth:`state_dict` as compact JSON text: the text ``json.dumps(state,
        separators=(",", ":"))`` gives, for less. The counts' base64 strings, four fifths of
        the text, need no escaping, so they are put in as they are instead of being scanned by
        the encoder (the API saves the state after every append)."""
        state = self.state_dict()
        packed = state["counts"]
        state["counts"] = None
        text = _STATE_JSON.encode(state)
        # The first "counts" key is the state's own (the keys before it are fixed); a string
        # cannot hold this text unescaped.
        return text.replace('"counts":null', '"counts":["{}","{}","{}"]'.format(*packed), 1)

    def _restore(self, state: Mapping[str, Any]) -> None:
        if not isinstance(state, Mapping) or state.get("version") not in READABLE_STATE_VERSIONS:
            raise MonitorStateError("monitor state: unsupported or missing version")
        if state.get("model") != self._detector.fingerprint:
            raise MonitorStateError("monitor state: saved with a different model")
        try:
            n_cols = len(self._detector.model.columns)
            keys = self._lookups.keys
            counts = _KeptCounts.from_packed(state["counts"], n_cols, keys)
            if counts is None:  # version 3, f8 counts, or damaged (then unpack_counts says why)
                counts = _KeptCounts.from_mapping(unpack_counts(state["counts"], n_cols), keys)
            self._counts = counts
            self._tactics = {str(k): float(v) for k, v in state["tactics"].items()}
            self._authors = {
                str(a): (float(v[0]), float(v[1]), int(v[2])) for a, v in state["authors"].items()
            }
            nb = self._detector.model.linear.n_blocks
            self._dot = [float(v) for v in state["dot"]]
            self._sq = [float(v) for v in state["sq"]]
            if len(self._dot) != nb or len(self._sq) != nb:
                raise ValueError("running sums do not match the model")
            self._tac = float(state["tac"])
            self._tokens = float(state["tokens"])
            self._run = int(state["run"])
            self.n_units = int(state["n_units"])
            self.n_messages = int(state["n_messages"])
            self.risk = float(state["risk"])
            self.alert = bool(state["alert"])
            fa = state["first_alert"]
            self.first_alert = None if fa is None else int(fa)
            fusion = self._detector.model.fusion
            pattern = state["pattern"]
            if (fusion is None) != (pattern is None):
                raise ValueError("pattern state does not match the model")
            if fusion is not None:
                self._pattern = PatternTracker.from_state(fusion, pattern)
            self.components = {str(k): float(v) for k, v in state["components"].items()}
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise MonitorStateError(f"monitor state: invalid ({exc})") from None
