"""The monitor's packed counts (state version 4): exact, refused when damaged, and version 3
states (counts as a JSON object) still restored."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pytest

from groomwatch.conversation import Conversation, Message
from groomwatch.detect import Detector, MonitorStateError
from groomwatch.detect.monitor import STATE_VERSION, pack_counts, unpack_counts


def _fed(detector: Detector, conv: Conversation, n: int) -> Any:
    mon = detector.monitor()
    for m in conv.messages[:n]:
        mon.update(m)
    return mon


@pytest.mark.parametrize(
    ("counts", "kind"),
    [
        ({7: 1.0, 3: 2.0, 123456: 65535.0, 0: 4.0}, "u2"),  # whole counts: 16-bit
        ({7: 1.0, 3: 65536.0}, "f8"),  # too large for 16 bits
        ({7: 1.0, 3: 2.0, 123456: 0.1 + 0.2, 0: 1e-300}, "f8"),  # not whole
        ({}, "f8"),
    ],
)
def test_packed_counts_keep_order_and_every_bit(counts: dict[int, float], kind: str) -> None:
    packed = pack_counts(counts)
    assert all(isinstance(p, str) for p in packed)
    assert packed[2] == kind
    restored = unpack_counts(json.loads(json.dumps(packed)), 200_000)
    assert list(restored.items()) == list(counts.items())
    assert all(type(v) is float for v in restored.values())


def test_a_version_3_state_restores_to_the_same_monitor(
    detector: Detector, by_id: dict[str, Conversation]
) -> None:
    """States written before the counts were packed (stored in databases) still restore, and
    the monitor continues exactly as one restored from the packed state."""
    conv = by_id["g1"]
    mon = _fed(detector, conv, 6)
    state = mon.state_dict()
    assert state["version"] == STATE_VERSION == 4
    counts = unpack_counts(state["counts"], len(detector.model.columns))
    old = {**state, "version": 3, "counts": {str(k): v for k, v in counts.items()}}
    from_old = detector.monitor(state=json.loads(json.dumps(old)))
    from_new = detector.monitor(state=json.loads(json.dumps(state)))
    assert from_old.state_dict() == from_new.state_dict() == state
    rest = conv.messages[6:]
    assert [from_old.update(m) for m in rest] == [from_new.update(m) for m in rest]


def _b64(values: object, dtype: str) -> str:
    return base64.b64encode(np.asarray(values, dtype=dtype).tobytes()).decode("ascii")


@pytest.mark.parametrize(
    "counts",
    [
        [_b64([1, 2], "<i4"), _b64([1.0], "<f8"), "f8"],  # lengths differ
        [_b64([-1], "<i4"), _b64([1], "<u2"), "u2"],  # negative column
        [_b64([10**9], "<i4"), _b64([1], "<u2"), "u2"],  # beyond the model
        [_b64([1], "<i4"), _b64([0], "<u2"), "u2"],  # a zero count
        [_b64([1], "<i4"), _b64([float("nan")], "<f8"), "f8"],
        [_b64([1, 1], "<i4"), _b64([1.0, 2.0], "<f8"), "f8"],  # a repeated column
        [_b64([1], "<i4"), _b64([1.0], "<f8"), "f4"],  # an unknown type
        [_b64([1], "<i4"), _b64([1.0], "<f8"), "u2"],  # the wrong type for the bytes
        ["not base64!", _b64([1.0], "<f8"), "f8"],
        [_b64([1], "<i4")[:-2], _b64([1.0], "<f8"), "f8"],  # cut short
        [_b64([1], "<i4"), _b64([1.0], "<f8")],  # no type
        [[1], [1.0], "f8"],
        "AAAA",
    ],
)
def test_damaged_packed_counts_are_refused(detector: Detector, counts: object) -> None:
    state = detector.monitor().state_dict()
    with pytest.raises(MonitorStateError, match="invalid"):
        detector.monitor(state={**state, "counts": counts})


def test_the_counts_stay_two_strings_however_long_the_conversation(detector: Detector) -> None:
    mon = detector.monitor()
    for i in range(200):
        mon.update(Message(text=f"message number {i} about football practice", author="a"))
    counts = mon.state_dict()["counts"]
    assert len(counts) == 3
    assert all(isinstance(c, str) for c in counts)
