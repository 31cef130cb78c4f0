"""The streaming monitor against a plain reference: the same risks, bit for bit.

:meth:`Monitor.update` keeps its counts in arrays and looks its logarithms up in tables (see
:mod:`groomwatch.detect.monitor`). The reference below is the monitor's arithmetic written the
plain way (a dictionary of float counts, ``math.log`` for every term), as it was before those
changes; every risk, message risk, component and running sum must be the same float, and the
packed state the same strings."""

from __future__ import annotations

import json
import math
import random
import struct
from typing import Any

import pytest

from groomwatch.conversation import Conversation, Message, Participant, Role
from groomwatch.detect import AlertPolicy, Detector
from groomwatch.detect.attribution import add_to_tally, choose_suspect
from groomwatch.detect.fusion import PatternTracker, fused_step
from groomwatch.detect.monitor import _decision, pack_counts, unpack_counts
from groomwatch.detect.policy import persistence_step
from groomwatch.detect.scoring import find_in_unit, unit_texts
from groomwatch.detect.units import count_tokens


class _Reference:
    """The monitor's update, the plain way (no tables, no arrays)."""

    def __init__(
        self, det: Detector, policy: AlertPolicy, participants: tuple[Participant, ...]
    ) -> None:
        nb = det.model.linear.n_blocks
        self.det, self.policy = det, policy
        self.counts: dict[int, float] = {}
        self.tactics: dict[str, float] = {}
        self.authors: dict[str, Any] = {}
        self.dot, self.sq = [0.0] * nb, [0.0] * nb
        self.tac = self.tokens = 0.0
        self.run = self.n_units = self.n_messages = 0
        self.risk, self.alert, self.first_alert = 0.0, False, None
        fusion = det.model.fusion
        self.pattern = (
            None if fusion is None else PatternTracker.for_participants(fusion, participants)
        )

    def update(self, message: Message) -> tuple[float, float, bool, bool, Any, Any]:
        det, model = self.det, self.det.model
        linear, nb = model.linear, model.linear.n_blocks
        index, found_all, fired, message_risk = self.n_messages, [], False, 0.0
        components: dict[str, float] = {}
        for offset, text in unit_texts(message.text):
            found = find_in_unit(det.registry, text, offset, index, message.author)
            found_all.extend(found)
            unit = sorted(
                (pos, float(n))
                for col, n in det.hasher.columns_of(text).items()
                if (pos := det.column_positions.get(col)) is not None
            )
            d_dot, d_sq, own_dot, own_sq = [0.0] * nb, [0.0] * nb, [0.0] * nb, [0.0] * nb
            for pos, added in unit:
                before = self.counts.get(pos, 0.0)
                after = before + added
                g_new = 1.0 + math.log(after)
                g_old = 1.0 + math.log(before) if before > 0 else 0.0
                g_own = 1.0 + math.log(added)
                b = det.block_list[pos]
                w, q = det.text_weight_list[pos], det.idf2_list[pos]
                d_dot[b] += w * (g_new - g_old)
                d_sq[b] += q * (g_new * g_new - g_old * g_old)
                own_dot[b] += w * g_own
                own_sq[b] += q * (g_own * g_own)
                self.counts[pos] = after
            t_added: dict[str, float] = {}
            for f in found:
                if f.tactic in det.tactic_index:
                    t_added[f.tactic] = t_added.get(f.tactic, 0.0) + 1.0
            d_tac = own_tac = 0.0
            for name, added in t_added.items():
                coef = det.tactic_coef[name]
                before = self.tactics.get(name, 0.0)
                d_tac += (math.log1p(before + added) - math.log1p(before)) * coef
                own_tac += math.log1p(added) * coef
                self.tactics[name] = before + added
            tokens = float(count_tokens(text))
            for b in range(nb):
                self.dot[b] += d_dot[b]
                self.sq[b] += d_sq[b]
            self.tac += d_tac
            self.tokens += tokens
            self.n_units += 1
            if self.pattern is not None:
                self.pattern.add(message.author, found)
            decision = _decision(linear, self.dot, self.sq, self.tac, self.tokens)
            self.risk, components = fused_step(
                model.fusion, model.text_logit(decision), self.tokens, self.pattern
            )
            own = model.risk_scalar(_decision(linear, own_dot, own_sq, own_tac, tokens))
            message_risk = max(message_risk, own)
            was = self.alert
            self.run, self.alert = persistence_step(self.policy, self.risk, self.run, self.n_units)
            if self.alert and not was:
                fired = True
                if self.first_alert is None:
                    self.first_alert = index
        if message.author is not None:
            add_to_tally(self.authors, message.author, message_risk, found_all)
        self.n_messages += 1
        suspect = None if self.first_alert is None else choose_suspect(self.authors)
        return self.risk, message_risk, self.alert, fired, suspect, components


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


_WORDS = str.split(
    "hi how was your day did you finish the homework football practice is at five what game "
    "are you playing tonight my brother borrowed charger see bus stop mature for age parents "
    "home right now this just between us ok add me on another app private send gift card meet "
    "saturday park secret photo delete cam 13 yrs old don't tell mom héllo ΣΑΣ 😀 İstanbul tú"
)


def _conversations() -> list[Conversation]:
    rng = random.Random(11)
    out = []
    for k in range(40):
        msgs = []
        for _ in range(rng.randint(1, 30)):
            n = rng.choice([0, 1, 3, 8, 12, 45, 90]) if rng.random() < 0.3 else rng.randint(1, 12)
            author = None if rng.random() < 0.1 else f"u{rng.randint(0, 2)}"
            msgs.append(Message(" ".join(rng.choice(_WORDS) for _ in range(n)), author=author))
        parts = (Participant("u0", Role.ADULT), Participant("u1", Role.CHILD, 13)) if k % 3 else ()
        out.append(Conversation(id=f"c{k}", messages=tuple(msgs), participants=parts))
    # a count beyond 16 bits (one long token): the counts leave their 16-bit array
    out.append(Conversation(id="big", messages=(Message("z" * 70_000), Message("z" * 70_000))))
    return out


def _same(mon: Any, ref: _Reference, message: Message) -> None:
    u = mon.update(message)
    risk, message_risk, alert, fired, suspect, components = ref.update(message)
    assert _bits(u.risk) == _bits(risk)
    assert _bits(u.message_risk) == _bits(message_risk)
    assert (u.alert, u.fired, u.suspect) == (alert, fired, suspect)
    assert {k: _bits(v) for k, v in (u.components or {}).items()} == {
        k: _bits(v) for k, v in components.items()
    }
    assert [_bits(v) for v in mon._dot + mon._sq] == [_bits(v) for v in ref.dot + ref.sq]


@pytest.mark.parametrize("policy", [AlertPolicy(0.3, window=2, min_messages=3), AlertPolicy(0.0)])
def test_the_monitor_equals_the_plain_reference_bit_for_bit(
    detector: Detector, policy: AlertPolicy
) -> None:
    for conv in _conversations():
        mon = detector.monitor(policy, participants=conv.participants)
        ref = _Reference(detector, policy, conv.participants)
        for i, m in enumerate(conv.messages):
            if i == len(conv.messages) // 2:  # through the stored state, as the API does
                state = json.loads(json.dumps(mon.state_dict()))
                mon = detector.monitor(policy, state=state, participants=conv.participants)
            _same(mon, ref, m)
        packed = mon.state_dict()["counts"]
        counts = unpack_counts(packed, len(detector.model.columns))
        assert counts == ref.counts
        assert list(counts) == list(ref.counts)  # the order first seen
        assert packed == pack_counts(ref.counts)  # the same strings as packing the floats


def test_restored_f8_and_version_3_counts_continue_exactly(detector: Detector) -> None:
    """Counts restored as float64 (``f8``) or as version 3's object continue the same."""
    policy = AlertPolicy(0.3)
    msgs = [Message(w, author="a") for w in ("ok " * 30, "see you at the park", "ok ok", "")]
    mon = detector.monitor(policy)
    ref = _Reference(detector, policy, ())
    for m in msgs[:2]:
        _same(mon, ref, m)
    state = mon.state_dict()
    counts = unpack_counts(state["counts"], len(detector.model.columns))
    as_f8 = [*pack_counts({**counts, **dict.fromkeys(list(counts)[:1], 1e6)})[:2], "f8"]
    ref.counts.update(dict.fromkeys(list(counts)[:1], 1e6))
    big = detector.monitor(policy, state=json.loads(json.dumps({**state, "counts": as_f8})))
    v3 = {**state, "version": 3, "counts": {str(k): v for k, v in counts.items()}}
    old = detector.monitor(policy, state=json.loads(json.dumps(v3)))
    ref_old = _Reference(detector, policy, ())
    for m in msgs[:2]:
        ref_old.update(m)
    for m in msgs[2:]:
        _same(big, ref, m)
        _same(old, ref_old, m)
    assert big.state_dict()["counts"] == pack_counts(ref.counts)
    assert old.state_dict()["counts"] == pack_counts(ref_old.counts)


def test_the_blocks_loop_of_any_model_equals_the_two_block_loop(detector: Detector) -> None:
    """The general loop (models of more than two blocks) adds the same as the shipped one."""
    a, b = detector.monitor(), detector.monitor()
    for conv in _conversations()[:10]:
        for m in conv.messages:
            for _, text in unit_texts(m.text):
                own_a = a._add_counts(text)
                own_b = b._add_counts_any_blocks(text)
                assert [_bits(v) for v in own_a[0] + own_a[1]] == [
                    _bits(v) for v in own_b[0] + own_b[1]
                ]
    assert [_bits(v) for v in a._dot + a._sq] == [_bits(v) for v in b._dot + b._sq]
    assert a.state_dict()["counts"] == b.state_dict()["counts"]


def test_the_state_as_json_is_the_encoders_text(detector: Detector) -> None:
    """:meth:`Monitor.state_json` is ``json.dumps`` of :meth:`Monitor.state_dict`, character
    for character, whatever the authors are called."""
    names = ["a", "counts", '"counts":null', 'ü "x"', "\\", "😀"]
    for conv in [*_conversations()[:8], Conversation(id="e", messages=())]:
        mon = detector.monitor(participants=conv.participants)
        for i, m in enumerate(conv.messages):
            mon.update(Message(m.text, author=names[i % len(names)]))
            expected = json.dumps(mon.state_dict(), separators=(",", ":"))
            assert mon.state_json() == expected
        assert mon.state_json() == json.dumps(mon.state_dict(), separators=(",", ":"))
