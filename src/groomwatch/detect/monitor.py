"""The streaming early-warning monitor: one conversation, one message at a time.

The monitor keeps the running sums of the model's text representation (counts of the kept hashed
columns, the dot product with the weights, the squared norm), the tactic counts, the length and the
persistence run of the alert policy. Each message costs work in proportion to its own features.
Its state is a small JSON-serialisable dictionary without any message text: the HTTP API stores it
after every message and restores it with :meth:`Detector.monitor(state=...)
<groomwatch.detect.detector.Detector.monitor>`; a restored monitor continues exactly as the
original would have.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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

STATE_VERSION = 3


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
    def state_dict(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot without message text. Its size is bounded by the number
        of the model's kept columns, tactics and authors."""
        return {
            "version": STATE_VERSION,
            "model": self._detector.fingerprint,
            "policy": self.policy.to_dict(),
            "counts": {str(k): v for k, v in self._counts.items()},
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
        if not isinstance(state, Mapping) or state.get("version") != STATE_VERSION:
            raise MonitorStateError("monitor state: unsupported or missing version")
        if state.get("model") != self._detector.fingerprint:
            raise MonitorStateError("monitor state: saved with a different model")
        try:
            n_cols = len(self._detector.model.columns)
            counts = {int(k): float(v) for k, v in state["counts"].items()}
            if any(not 0 <= k < n_cols or v <= 0 for k, v in counts.items()):
                raise ValueError("counts out of range")
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
