"""The detector: a trained :class:`~groomwatch.detect.model.RiskModel` with the tactic registry,
scoring whole conversations (:meth:`Detector.assess`, :meth:`Detector.assess_many`) and streams
(:meth:`Detector.monitor`)."""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from groomwatch.conversation import Conversation, Message, Participant
from groomwatch.detect.attribution import (
    MESSAGE_EVIDENCE,
    Tally,
    choose_suspect,
    is_grooming_message,
    message_evidence,
)
from groomwatch.detect.fusion import PatternTracker
from groomwatch.detect.model import (
    DEFAULT_MODEL_DIR,
    META_FILE,
    WEIGHTS_FILE,
    FloatArray,
    IntArray,
    RiskModel,
    TextHasher,
)
from groomwatch.detect.monitor import Monitor
from groomwatch.detect.policy import AlertPolicy
from groomwatch.detect.scoring import ConversationLike, MessageLike, read_units, score_units
from groomwatch.detect.tactics.base import Finding, TacticRegistry
from groomwatch.errors import InputError, ModelError

BATCH_MESSAGES = 2048
"""The batch path reads conversations in chunks of about this many messages: large enough that
numpy's per-call costs are spread thin, small enough that a chunk's arrays (about 60 entries per
message) stay in the processor's cache (measured: 2048 about 20 % faster than 4096)."""


@dataclass(frozen=True, slots=True)
class Assessment:
    """The detector's view of one conversation.

    ``risk`` is the calibrated probability after the whole conversation; ``flagged`` is ``risk``
    at or above the policy's threshold; ``first_alert`` is the index of the message at which the
    streaming warning first fired (the monitor fed one message at a time), or ``None``;
    ``suspect`` is the author most likely to be the groomer when the conversation is flagged or
    the warning fired (``None`` otherwise, or without authors); ``findings`` are the tactic
    findings; ``risk_history`` is the risk after each message; ``grooming_messages`` the indexes of
    the messages that are evidence by themselves (by the suspect, when there is one).
    """

    id: str
    risk: float
    flagged: bool
    first_alert: int | None
    suspect: str | None
    findings: tuple[Finding, ...]
    risk_history: tuple[float, ...]
    grooming_messages: tuple[int, ...]
    message_risks: tuple[float, ...] = ()
    components: dict[str, float] = field(default_factory=dict)
    """The parts of the final risk (:mod:`groomwatch.detect.fusion`): ``language`` (the text
    model's probability), ``tactics`` (the tactic pattern's) and ``context`` (what declared roles
    and the other participant's age signal add to the pattern)."""

    def to_dict(self) -> dict[str, Any]:
        """The ``groomwatch scan`` output contract (DESIGN.md)."""
        return {
            "id": self.id,
            "risk": round(self.risk, 4),
            "flagged": self.flagged,
            "first_alert": self.first_alert,
            "suspect": self.suspect,
            "tactics": [f.to_dict() for f in self.findings],
        }

    def to_full_dict(self) -> dict[str, Any]:
        """:meth:`to_dict` plus the risk history, grooming messages and message risks."""
        out = self.to_dict()
        out["risk_history"] = [round(r, 4) for r in self.risk_history]
        out["grooming_messages"] = list(self.grooming_messages)
        out["message_risks"] = [round(r, 4) for r in self.message_risks]
        out["components"] = {k: round(v, 4) for k, v in self.components.items()}
        return out


@dataclass(frozen=True, eq=False)
class Trace:
    """The risk after every unit of a conversation, the message of each unit, and the number of
    units seen when the warning fired (``None`` if it never did); ``unit_decisions`` are the text
    model's running decisions (before calibration and fusion)."""

    unit_risks: FloatArray
    unit_messages: IntArray
    alert_unit: int | None
    unit_decisions: FloatArray | None = None


def tactic_registry(cues_path: Path | None) -> TacticRegistry:
    try:
        from groomwatch.detect.tactics import default_registry
    except ImportError:
        if cues_path is not None:
            raise InputError(f"{cues_path}: tactic cues cannot be loaded (no tactics)") from None
        return TacticRegistry()
    registry = default_registry(cues_path=cues_path)
    assert isinstance(registry, TacticRegistry)
    return registry


class Detector:
    """A model and the tactics, ready to score conversations."""

    def __init__(self, model: RiskModel, registry: TacticRegistry, *, fingerprint: str) -> None:
        missing = [t for t in model.tactic_names if t not in registry]
        if missing:
            raise ModelError(f"the model uses tactics that are not registered: {missing}")
        self.model = model
        self.registry = registry
        self.hasher = TextHasher(model.hasher_config)
        self.fingerprint = fingerprint
        self.tactic_index = {name: i for i, name in enumerate(model.tactic_names)}
        # The streaming monitor's lookups, as plain Python objects.
        self.column_positions = {int(c): i for i, c in enumerate(model.columns.tolist())}
        self.text_weight_list: list[float] = model.linear.text_weight.tolist()
        self.idf2_list: list[float] = (model.linear.idf**2).tolist()
        self.block_list: list[int] = model.linear.blocks.tolist()
        self.tactic_coef = dict(
            zip(model.tactic_names, model.linear.coef_tactic.tolist(), strict=True)
        )
        p = model.policy
        self.default_policy = AlertPolicy(
            threshold=float(p.get("threshold", model.threshold)),
            window=int(p.get("window", 1)),
            min_messages=int(p.get("min_messages", 1)),
        )

    @classmethod
    def load(cls, model_path: Path | None = None, cues_path: Path | None = None) -> Detector:
        """The model in ``model_path`` (the shipped model when ``None``) with the tactic cues of
        ``cues_path`` (the packaged cues when ``None``). Cached per arguments."""
        mp = (model_path or DEFAULT_MODEL_DIR).resolve()
        cp = cues_path.resolve() if cues_path is not None else None
        return _load_cached(mp, cp)

    # --- whole conversations ------------------------------------------------------------------
    def assess(self, conv: Conversation, policy: AlertPolicy | None = None) -> Assessment:
        return next(self.assess_many([conv], policy))

    def assess_many(
        self, convs: Iterable[ConversationLike], policy: AlertPolicy | None = None
    ) -> Iterator[Assessment]:
        """Assessments in input order, computed in vectorised chunks of conversations."""
        for assessment, _trace in self._scan(convs, policy, with_traces=False):
            yield assessment

    def traces(
        self, convs: Iterable[ConversationLike], policy: AlertPolicy | None = None
    ) -> Iterator[tuple[Assessment, Trace]]:
        """Assessments with the risk after every unit (for evaluation and reports)."""
        for assessment, trace in self._scan(convs, policy, with_traces=True):
            assert trace is not None
            yield assessment, trace

    def _scan(
        self, convs: Iterable[ConversationLike], policy: AlertPolicy | None, *, with_traces: bool
    ) -> Iterator[tuple[Assessment, Trace | None]]:
        pol = policy or self.default_policy
        it = iter(convs)
        while True:
            chunk: list[ConversationLike] = []
            n_msgs = 0
            for conv in it:
                chunk.append(conv)
                n_msgs += len(conv.messages)
                if n_msgs >= BATCH_MESSAGES:
                    break
            if not chunk:
                return
            yield from self._assess_chunk(chunk, pol, with_traces)

    def _assess_chunk(
        self, chunk: list[ConversationLike], policy: AlertPolicy, with_traces: bool = True
    ) -> Iterator[tuple[Assessment, Trace | None]]:
        """Assess a chunk of conversations with whole-chunk array operations.

        Every step is the streaming monitor's arithmetic applied to all units at once, so that
        each risk equals the monitor's (the same floating-point operations in the same order):
        the text model's logit and the fusion's noisy-OR are elementwise; the sigmoid uses
        ``math.exp`` like the monitor (numpy's ``exp`` may differ in the last bit); the tactic
        pattern only changes at units with findings; the persistence rule is a run length."""
        model = self.model
        batch = read_units(
            chunk,
            self.registry,
            self.hasher,
            model.tactic_names,
            kept=model.kept_entries,
            n_kept=len(model.columns),
            positions=model.position_table,
            with_counts=False,
        )
        scores = score_units(batch, model.linear)
        n_units = batch.n_units
        conv_start = batch.conv_start
        unit_msg = batch.unit_msg
        text_logit = model.calib_slope * scores.cumulative + model.calib_intercept
        # Tokens seen after each unit: whole numbers, so a global running sum minus the sum
        # before the conversation is exact.
        csum_tokens = np.cumsum(batch.tokens)
        sizes = np.diff(conv_start)
        before_conv = np.concatenate(([0.0], csum_tokens))[conv_start[:-1]]
        seen = csum_tokens - np.repeat(before_conv, sizes)
        fusion = model.fusion
        tac = np.zeros(n_units)
        ctx = np.zeros(n_units)
        if fusion is None:
            risk = _sigmoids(text_logit)
            language = risk
        else:
            if fusion.ramp_tokens > 0:
                ramp = np.minimum(1.0, seen / fusion.ramp_tokens)
                shrunk = fusion.prior + ramp * (text_logit - fusion.prior)
            else:
                shrunk = fusion.prior + 1.0 * (text_logit - fusion.prior)
            language = _sigmoids(shrunk)
            unit_findings = batch.unit_findings
            for ci, conv in enumerate(chunk):
                s, e = int(conv_start[ci]), int(conv_start[ci + 1])
                tracker: PatternTracker | None = None
                for u in range(s, e):
                    found = unit_findings[u]
                    if not found:
                        continue
                    if tracker is None:
                        tracker = PatternTracker.for_participants(fusion, conv.participants)
                    best = tracker.best
                    tracker.add(conv.messages[int(unit_msg[u])].author, found)
                    if tracker.best is not best:
                        tac[u:e], ctx[u:e] = tracker.components()
            risk = 1.0 - (1.0 - language) * (1.0 - (tac + ctx))
        own = model.risk(scores.own)
        alert_at = _first_alerts(risk, conv_start, policy)
        # Per message: the risk after its last unit, the highest own risk of its units.
        if n_units:
            first_unit = np.ones(n_units, dtype=bool)
            first_unit[1:] = unit_msg[1:] != unit_msg[:-1]
            first_unit[conv_start[:-1][sizes > 0]] = True
            starts = np.flatnonzero(first_unit)
            last_unit = np.append(starts[1:] - 1, n_units - 1)
            history_all: list[float] = risk[last_unit].tolist()
            msg_risk_all: list[float] = np.maximum.reduceat(own, starts).tolist()
        else:
            history_all = msg_risk_all = []
        # The components after each conversation's last unit (only those are read).
        last = np.maximum(conv_start[1:] - 1, 0)
        lang_list: list[float] = language[last].tolist() if n_units else []
        tac_list: list[float] = tac[last].tolist() if n_units else []
        ctx_list: list[float] = ctx[last].tolist() if n_units else []
        m0 = 0
        bounds: list[int] = conv_start.tolist()
        for ci, conv in enumerate(chunk):
            s, e = bounds[ci], bounds[ci + 1]
            n = len(conv.messages)
            history = history_all[m0 : m0 + n]
            msg_risk = msg_risk_all[m0 : m0 + n]
            m0 += n
            final = history[-1] if n else 0.0  # no messages, no evidence
            flagged = final >= policy.threshold
            a = alert_at[ci]
            first_alert = None if a < 0 else int(unit_msg[a])
            components: dict[str, float] = {}
            if e > s:
                components = {
                    "language": lang_list[ci],
                    "tactics": tac_list[ci],
                    "context": ctx_list[ci],
                }
            assessment = self._finish(
                conv,
                final,
                flagged,
                first_alert,
                history,
                msg_risk,
                batch.findings[ci],
                components,
            )
            trace = (
                Trace(
                    unit_risks=risk[s:e].copy(),
                    unit_messages=unit_msg[s:e].copy(),
                    alert_unit=None if a < 0 else a - s + 1,
                    unit_decisions=scores.cumulative[s:e].copy(),
                )
                if with_traces
                else None
            )
            yield assessment, trace

    def _finish(
        self,
        conv: ConversationLike,
        risk: float,
        flagged: bool,
        first_alert: int | None,
        history: list[float],
        msg_risk: list[float],
        findings: tuple[Finding, ...],
        components: dict[str, float] | None = None,
    ) -> Assessment:
        suspect: str | None = None
        grooming: tuple[int, ...] = ()
        if flagged or first_alert is not None:  # the tally only matters then
            suspect, grooming = _attribute(conv.messages, msg_risk, findings)
        return Assessment(
            id=conv.id,
            risk=risk,
            flagged=flagged,
            first_alert=first_alert,
            suspect=suspect,
            findings=findings,
            risk_history=tuple(history),
            grooming_messages=grooming,
            message_risks=tuple(msg_risk),
            components={} if components is None else components,
        )

    # --- streams ------------------------------------------------------------------------------
    def monitor(
        self,
        policy: AlertPolicy | None = None,
        state: Mapping[str, Any] | None = None,
        participants: Sequence[Participant] = (),
    ) -> Monitor:
        """A streaming monitor; ``state`` (from :meth:`Monitor.state_dict`) restores one. Without
        ``policy``, a restored monitor keeps the policy it was saved with. ``participants``
        (declared roles and ages) are context for the tactic pattern; a restored monitor keeps
        the participants it was started with."""
        if policy is None and state is not None and isinstance(state.get("policy"), Mapping):
            policy = AlertPolicy.from_dict(state["policy"])
        return Monitor(self, policy or self.default_policy, state, participants)

    def replay(
        self,
        messages: Iterable[Message],
        policy: AlertPolicy | None = None,
        participants: Sequence[Participant] = (),
    ) -> Monitor:
        """A new monitor fed ``messages`` in order: how to rebuild a stream's state after the
        model changed (restoring then raises :class:`MonitorStateError`)."""
        mon = self.monitor(policy, participants=participants)
        for m in messages:
            mon.update(m)
        return mon

    def warm_up(self) -> None:
        """Run one throw-away message through a monitor, so that what the streaming path loads
        on first use (scikit-learn's hash function, most of a second) is loaded now: a server
        calls this at start-up rather than in its first request."""
        self.replay([Message(text="hello, how are you", author="a")])

    def describe(self) -> dict[str, Any]:
        """What the API's health and tactics endpoints show about the model."""
        return {
            "fingerprint": self.fingerprint,
            "policy": self.default_policy.to_dict(),
            "tactics": list(self.model.tactic_names),
            "features": len(self.model.columns),
            "metrics": self.model.metrics,
            "info": self.model.info,
            "fusion": None if self.model.fusion is None else self.model.fusion.to_dict(),
        }


def _attribute(
    messages: Sequence[MessageLike], msg_risk: list[float], findings: tuple[Finding, ...]
) -> tuple[str | None, tuple[int, ...]]:
    """The suspect and the grooming messages of a conversation: the monitor's tally
    (:func:`~groomwatch.detect.attribution.add_to_tally` per message, in order) with the work
    done only where it adds something.

    A message without findings and with an own risk at or below :data:`MESSAGE_EVIDENCE` adds
    ``0.0`` to both sums of its author (a float plus ``0.0`` is that float: the sums start at
    ``0.0`` and never hold ``-0.0``) and one to the count, so the sums only visit the messages
    that have findings or a high own risk, in order; the counts are counted at once; the
    authors keep the order in which they first wrote (the last tie-break of
    :func:`~groomwatch.detect.attribution.choose_suspect`)."""
    authors = [m.author for m in messages]
    order = dict.fromkeys(authors)
    order.pop(None, None)
    by_msg: dict[int, list[Finding]] = {}
    for f in findings:
        by_msg.setdefault(f.message, []).append(f)
    high = [i for i, r in enumerate(msg_risk) if r >= MESSAGE_EVIDENCE]
    if order:
        counts = Counter(authors)
        sums = {a: [0.0, 0.0] for a in order}
        for i in sorted({*high, *by_msg}):
            author = authors[i]
            if author is None:
                continue
            found = by_msg.get(i)
            if found is not None:
                tactic, risk_part = message_evidence(msg_risk[i], found)
            else:
                tactic, risk_part = 0.0, 2.0 * max(0.0, msg_risk[i] - MESSAGE_EVIDENCE)
            pair = sums[author]
            pair[0] += tactic
            pair[1] += risk_part
        tally: dict[str, Tally] = {
            a: (t, r, counts[a]) for a, (t, r) in ((a, sums[a]) for a in order if a is not None)
        }
        suspect = choose_suspect(tally)
    else:
        suspect = None
    evidence = [i for i, found in by_msg.items() if is_grooming_message(0.0, found)]
    grooming = tuple(
        i for i in sorted({*high, *evidence}) if suspect is None or authors[i] == suspect
    )
    return suspect, grooming


def _sigmoids(z: FloatArray) -> FloatArray:
    """:func:`~groomwatch.detect.fusion.sigmoid` of every value, bit for bit: the exponentials
    come from ``math.exp`` (numpy's ``exp`` may differ in the last bit), the rest is the same
    IEEE arithmetic in numpy (``1 / (1 + exp(-z))`` for ``z >= 0``, ``e / (1 + e)`` with
    ``e = exp(z)`` below), without a Python call per value."""
    e = np.fromiter(map(math.exp, (-np.abs(z)).tolist()), dtype=np.float64, count=len(z))
    return np.asarray(np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)), dtype=np.float64)


def _first_alerts(risk: FloatArray, conv_start: IntArray, policy: AlertPolicy) -> list[int]:
    """Per conversation, the global index of the unit at which the warning first fires, or -1:
    :func:`~groomwatch.detect.policy.persistence_step` over all units at once. The run of
    consecutive units at or above the threshold restarts at every conversation; the warning
    holds at a unit when the run has reached ``window`` and ``min_messages`` units were seen."""
    n = len(risk)
    n_convs = len(conv_start) - 1
    if n == 0:
        return [-1] * n_convs
    idx = np.arange(n, dtype=np.int64)
    sizes = np.diff(conv_start)
    unit_start = np.repeat(conv_start[:-1], sizes)
    # last unit below the threshold at or before each unit, or the unit before its conversation
    below = np.where(risk >= policy.threshold, unit_start - 1, idx)
    last_below = np.maximum.accumulate(below)
    holds = (idx - last_below >= policy.window) & (idx - unit_start + 1 >= policy.min_messages)
    fired = np.flatnonzero(holds)
    at = np.searchsorted(fired, conv_start[:-1])
    out = [-1] * n_convs
    for ci, k in enumerate(at.tolist()):
        if k < len(fired) and fired[k] < conv_start[ci + 1]:
            out[ci] = int(fired[k])
    return out


@lru_cache(maxsize=8)
def _load_cached(model_path: Path, cues_path: Path | None) -> Detector:
    model = RiskModel.load(model_path)
    digest = hashlib.sha256()
    for name in (META_FILE, WEIGHTS_FILE):
        digest.update((model_path / name).read_bytes())
    if cues_path is not None:
        digest.update(cues_path.read_bytes())
    return Detector(model, tactic_registry(cues_path), fingerprint=digest.hexdigest()[:16])


__all__ = ["Assessment", "Detector"]
