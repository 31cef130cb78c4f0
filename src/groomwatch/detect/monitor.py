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
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping, Sequence
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
from groomwatch.detect.units import count_tokens
from groomwatch.errors import InputError

if TYPE_CHECKING:
    from groomwatch.detect.detector import Detector

STATE_VERSION = 4
READABLE_STATE_VERSIONS = (3, 4)
"""Version 3 stored the counts as a JSON object; version 4 packs them (see the module's text)."""

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
        self._counts: dict[int, float] = {}
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

        Plain Python floats on purpose: per message there are a few dozen features, where numpy's
        per-call overhead would dominate. The arithmetic is the batch path's, term for term."""
        det = self._detector
        model = det.model
        linear = model.linear
        col_pos, weight, idf2 = det.column_positions, det.text_weight_list, det.idf2_list
        blocks, nb = det.block_list, linear.n_blocks
        index = self.n_messages
        found_all: list[Finding] = []
        fired = False
        message_risk = 0.0
        for offset, text in unit_texts(message.text):
            found = find_in_unit(det.registry, text, offset, index, message.author)
            found_all.extend(found)
            unit = sorted(
                (pos, float(n))
                for col, n in det.hasher.columns_of(text).items()
                if (pos := col_pos.get(col)) is not None
            )
            d_dot, d_sq = [0.0] * nb, [0.0] * nb
            own_dot, own_sq = [0.0] * nb, [0.0] * nb
            for pos, added in unit:
                before = self._counts.get(pos, 0.0)
                after = before + added
                g_new = 1.0 + math.log(after)
                g_old = 1.0 + math.log(before) if before > 0 else 0.0
                g_own = 1.0 + math.log(added)
                b = blocks[pos]
                d_dot[b] += weight[pos] * (g_new - g_old)
                d_sq[b] += idf2[pos] * (g_new * g_new - g_old * g_old)
                own_dot[b] += weight[pos] * g_own
                own_sq[b] += idf2[pos] * (g_own * g_own)
                self._counts[pos] = after
            t_added: dict[str, float] = {}
            for f in found:
                if f.tactic in det.tactic_index:
                    t_added[f.tactic] = t_added.get(f.tactic, 0.0) + 1.0
            d_tac = own_tac = 0.0
            for name, added in t_added.items():
                coef = det.tactic_coef[name]
                before = self._tactics.get(name, 0.0)
                d_tac += (math.log1p(before + added) - math.log1p(before)) * coef
                own_tac += math.log1p(added) * coef
                self._tactics[name] = before + added
            tokens = float(count_tokens(text))
            for b in range(nb):
                self._dot[b] += d_dot[b]
                self._sq[b] += d_sq[b]
            self._tac += d_tac
            self._tokens += tokens
            self.n_units += 1
            if self._pattern is not None:
                self._pattern.add(message.author, found)
            self.risk, self.components = fused_step(
                model.fusion,
                model.text_logit(_decision(linear, self._dot, self._sq, self._tac, self._tokens)),
                self._tokens,
                self._pattern,
            )
            own = model.risk_scalar(_decision(linear, own_dot, own_sq, own_tac, tokens))
            message_risk = max(message_risk, own)
            was = self.alert
            self._run, self.alert = persistence_step(
                self.policy, self.risk, self._run, self.n_units
            )
            if self.alert and not was:
                fired = True
                if self.first_alert is None:
                    self.first_alert = index
        if message.author is not None:
            add_to_tally(self._authors, message.author, message_risk, found_all)
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
            "counts": pack_counts(self._counts),
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

    def _restore(self, state: Mapping[str, Any]) -> None:
        if not isinstance(state, Mapping) or state.get("version") not in READABLE_STATE_VERSIONS:
            raise MonitorStateError("monitor state: unsupported or missing version")
        if state.get("model") != self._detector.fingerprint:
            raise MonitorStateError("monitor state: saved with a different model")
        try:
            self._counts = unpack_counts(state["counts"], len(self._detector.model.columns))
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
