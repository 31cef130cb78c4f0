"""The streaming monitor: restore mid-stream, bounded state without text, long messages."""

from __future__ import annotations

import json

import pytest

from groomwatch.conversation import Conversation, Message
from groomwatch.detect import AlertPolicy, Detector, MonitorStateError, StreamUpdate
from groomwatch.errors import InputError


def _feed(mon: object, messages: tuple[Message, ...]) -> list[StreamUpdate]:
    return [mon.update(m) for m in messages]  # type: ignore[attr-defined]


@pytest.mark.parametrize("cut", [1, 4, 7])
def test_restored_monitor_continues_identically(
    detector: Detector, by_id: dict[str, Conversation], cut: int
) -> None:
    msgs = by_id["g1"].messages
    policy = AlertPolicy(threshold=0.02, window=2, min_messages=2)
    original = detector.monitor(policy)
    _feed(original, msgs[:cut])
    state = json.loads(json.dumps(original.state_dict()))
    restored = detector.monitor(state=state)  # keeps the saved policy
    assert restored.policy == policy
    assert restored.n_messages == original.n_messages == cut
    assert restored.risk == original.risk
    a = _feed(original, msgs[cut:])
    b = _feed(restored, msgs[cut:])
    assert a == b
    assert restored.state_dict() == original.state_dict()


def test_state_has_no_message_text(detector: Detector, by_id: dict[str, Conversation]) -> None:
    mon = detector.monitor()
    _feed(mon, by_id["g1"].messages)
    dumped = json.dumps(mon.state_dict())
    for m in by_id["g1"].messages:
        for word in m.text.split():
            if len(word) > 5:
                assert word not in dumped


def test_state_is_bounded_by_the_model_not_the_conversation(detector: Detector) -> None:
    mon = detector.monitor()
    msg = Message("see you at practice tomorrow, bring the ball", author="a")
    for _ in range(50):
        mon.update(msg)
    size_50 = len(json.dumps(mon.state_dict()))
    for _ in range(450):
        mon.update(msg)
    size_500 = len(json.dumps(mon.state_dict()))
    assert mon.n_messages == 500
    assert size_500 < size_50 * 1.2  # repeated features add nothing but counts


def test_state_from_another_model_or_garbage_is_refused(detector: Detector) -> None:
    mon = detector.monitor()
    state = mon.state_dict()
    with pytest.raises(MonitorStateError, match="different model"):
        detector.monitor(state={**state, "model": "0000"})
    assert issubclass(MonitorStateError, InputError)
    with pytest.raises(InputError, match="version"):
        detector.monitor(state={**state, "version": 99})
    with pytest.raises(InputError, match="invalid"):
        detector.monitor(state={**state, "counts": {"-5": 1}})
    with pytest.raises(InputError, match="invalid"):
        detector.monitor(state={k: v for k, v in state.items() if k != "dot"})


def test_a_long_message_fires_within_the_message(detector: Detector) -> None:
    text = " ".join(["hello"] * 200)
    policy = AlertPolicy(threshold=0.0, window=3)
    mon = detector.monitor(policy)
    update = mon.update(Message(text))
    assert update.fired
    assert update.alert
    assert update.first_alert == 0
    assert mon.n_units == 25


def test_updates_report_findings_with_message_index(detector: Detector) -> None:
    mon = detector.monitor()
    mon.update(Message("hi"))
    u = mon.update(Message("don't tell your parents about me", author="x"))
    assert u.index == 1
    assert any(f.tactic == "secrecy" and f.message == 1 for f in u.findings)
    d = u.to_dict()
    assert d["index"] == 1
    assert isinstance(d["findings"], list)


def test_replay_rebuilds_the_state(detector: Detector, by_id: dict[str, Conversation]) -> None:
    msgs = by_id["g1"].messages
    mon = detector.monitor()
    _feed(mon, msgs)
    assert detector.replay(msgs).state_dict() == mon.state_dict()
