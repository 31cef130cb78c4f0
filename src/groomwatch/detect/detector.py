"""The detector: a trained :class:`~groomwatch.detect.model.RiskModel` with the tactic registry,
scoring whole conversations (:meth:`Detector.assess`, :meth:`Detector.assess_many`) and streams
(:meth:`Detector.monitor`)."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from groomwatch.conversation import Conversation, Message, Participant
from groomwatch.detect.attribution import Tally, add_to_tally, choose_suspect, is_grooming_message
from groomwatch.detect.fusion import PatternTracker, fused_step
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
from groomwatch.detect.policy import AlertPolicy, persistence_step
from groomwatch.detect.scoring import read_units, score_units
from groomwatch.detect.tactics.base import Finding, TacticRegistry
from groomwatch.errors import InputError, ModelError

BATCH_MESSAGES = 4096
"""The batch path reads conversations in chunks of about this many messages."""


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
        self, convs: Iterable[Conversation], policy: AlertPolicy | None = None
    ) -> Iterator[Assessment]:
        """Assessments in input order, computed in vectorised chunks of conversations."""
        for assessment, _trace in self.traces(convs, policy):
            yield assessment

    def traces(
        self, convs: Iterable[Conversation], policy: AlertPolicy | None = None
    ) -> Iterator[tuple[Assessment, Trace]]:
        """Assessments with the risk after every unit (for evaluation and reports)."""
        pol = policy or self.default_policy
        it = iter(convs)
        while True:
            chunk: list[Conversation] = []
            n_msgs = 0
            for conv in it:
                chunk.append(conv)
                n_msgs += len(conv.messages)
                if n_msgs >= BATCH_MESSAGES:
                    break
            if not chunk:
                return
            yield from self._assess_chunk(chunk, pol)

    def _assess_chunk(
        self, chunk: list[Conversation], policy: AlertPolicy
    ) -> Iterator[tuple[Assessment, Trace]]:
        batch = read_units(
            chunk, self.registry, self.hasher, self.model.tactic_names, self.model.kept_counts
        )
        scores = score_units(batch, self.model.linear)
        model = self.model
        fusion = model.fusion
        cumulative = scores.cumulative.tolist()
        own = model.risk(scores.own)
        tokens = batch.tokens.tolist()
        empty_risk = 0.0  # no messages, no evidence
        for ci, conv in enumerate(chunk):
            s, e = int(batch.conv_start[ci]), int(batch.conv_start[ci + 1])
            n = len(conv.messages)
            history = [empty_risk] * n
            msg_risk = [0.0] * n
            first_alert: int | None = None
            alert_unit: int | None = None
            run = 0
            tracker = (
                None
                if fusion is None
                else PatternTracker.for_participants(fusion, conv.participants)
            )
            seen_tokens = 0.0
            unit_risks: list[float] = []
            components: dict[str, float] = {}
            for u in range(s, e):
                m = int(batch.unit_msg[u])
                seen_tokens += tokens[u]
                if tracker is not None:
                    tracker.add(conv.messages[m].author, batch.unit_findings[u])
                r, components = fused_step(
                    fusion, model.text_logit(cumulative[u]), seen_tokens, tracker
                )
                unit_risks.append(r)
                history[m] = r
                msg_risk[m] = max(msg_risk[m], float(own[u]))
                run, alert = persistence_step(policy, r, run, u - s + 1)
                if alert and first_alert is None:
                    first_alert, alert_unit = m, u - s + 1
            final = history[-1] if n else empty_risk
            flagged = final >= policy.threshold
            assessment = self._finish(
                conv, final, flagged, first_alert, history, msg_risk, batch.findings[ci]
            )
            assessment = dataclasses.replace(assessment, components=components)
            trace = Trace(
                unit_risks=np.asarray(unit_risks, dtype=np.float64),
                unit_messages=np.asarray(batch.unit_msg[s:e], dtype=np.int64),
                alert_unit=alert_unit,
                unit_decisions=np.asarray(scores.cumulative[s:e], dtype=np.float64),
            )
            yield assessment, trace

    def _finish(
        self,
        conv: Conversation,
        risk: float,
        flagged: bool,
        first_alert: int | None,
        history: list[float],
        msg_risk: list[float],
        findings: tuple[Finding, ...],
    ) -> Assessment:
        by_msg: dict[int, list[Finding]] = {}
        for f in findings:
            by_msg.setdefault(f.message, []).append(f)
        tally: dict[str, Tally] = {}
        for i, msg in enumerate(conv.messages):
            if msg.author is not None:
                add_to_tally(tally, msg.author, msg_risk[i], by_msg.get(i, ()))
        suspect = choose_suspect(tally) if (flagged or first_alert is not None) else None
        grooming: tuple[int, ...] = ()
        if flagged or first_alert is not None:
            grooming = tuple(
                i
                for i, msg in enumerate(conv.messages)
                if (suspect is None or msg.author == suspect)
                and is_grooming_message(msg_risk[i], by_msg.get(i, ()))
            )
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
