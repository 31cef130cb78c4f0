"""Metrics against cases computed by hand."""

from __future__ import annotations

import math

import pytest

from groomwatch.detect.metrics import (
    LATENCY_P,
    binary_metrics,
    latency_penalty,
    latency_weighted_f1,
    pan12_problem1,
    pan12_problem2,
    prefix_units,
    speed,
)


def test_binary_metrics_by_hand() -> None:
    # tp=2 (0, 1), fn=1 (2), fp=1 (4), tn=2 (3, 5)
    m = binary_metrics([1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 1, 0])
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (2, 1, 1, 2)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    # F0.5 = 1.25 P R / (0.25 P + R)
    assert m["f0.5"] == pytest.approx(1.25 * (4 / 9) / (0.25 * 2 / 3 + 2 / 3))
    assert m["fpr"] == pytest.approx(1 / 3)


def test_binary_metrics_no_predictions_is_zero_not_error() -> None:
    m = binary_metrics([1, 0], [0, 0])
    assert m["precision"] == 0.0
    assert m["f1"] == 0.0
    assert m["fpr"] == 0.0


def test_latency_penalty_anchors() -> None:
    assert pytest.approx(math.log(3) / 89) == LATENCY_P
    assert latency_penalty(1) == 0.0
    # penalty(90) = -1 + 2 / (1 + exp(-ln 3)) = -1 + 2 / (4 / 3) = 0.5
    assert latency_penalty(90) == pytest.approx(0.5)
    assert latency_penalty(10_000) == pytest.approx(1.0, abs=1e-6)


def test_speed_is_one_minus_median_penalty() -> None:
    assert speed([1, 1, 90]) == pytest.approx(1.0)
    assert speed([1, 90, 90]) == pytest.approx(0.5)
    assert speed([]) == 0.0


def test_latency_weighted_f1_by_hand() -> None:
    # conversations: positives warned at 1 and 90 units, one positive missed, one false alarm.
    y = [1, 1, 1, 0, 0]
    warned = [1, 1, 0, 1, 0]
    delays = [1, 90, None, 3, None]
    m = latency_weighted_f1(y, warned, delays)
    f1 = 2 * (2 / 3) * (2 / 3) / (4 / 3)
    # median of penalties 0 and 0.5 is 0.25 (false alarms do not count)
    assert m["speed"] == pytest.approx(0.75)
    assert m["f1"] == pytest.approx(f1)
    assert m["f_latency"] == pytest.approx(f1 * 0.75)
    assert m["median_delay"] == pytest.approx(45.5)


def test_pan12_problem1_and_2_by_hand() -> None:
    p1 = pan12_problem1({"a", "b", "c"}, {"a", "d"})
    assert p1["precision"] == pytest.approx(1 / 3)
    assert p1["recall"] == pytest.approx(1 / 2)
    # F0.5 = 1.25 P R / (0.25 P + R)
    assert p1["f0.5"] == pytest.approx(1.25 * (1 / 6) / (0.25 / 3 + 0.5))
    p2 = pan12_problem2({("c1", 1), ("c1", 2)}, {("c1", 2), ("c1", 3), ("c2", 1), ("c2", 4)})
    assert p2["precision"] == pytest.approx(0.5)
    assert p2["recall"] == pytest.approx(0.25)
    # F3 = 10 P R / (9 P + R)
    assert p2["f3"] == pytest.approx(10 * 0.125 / (4.5 + 0.25))
    assert pan12_problem1(set(), {"a"})["f1"] == 0.0


@pytest.mark.parametrize(
    ("n", "fraction", "expected"),
    [
        (10, 0.1, 1),
        (10, 0.25, 3),
        (10, 0.5, 5),
        (3, 0.1, 1),
        (40, 0.25, 10),
        (1, 0.5, 1),
        (0, 0.5, 0),
    ],
)
def test_prefix_units(n: int, fraction: float, expected: int) -> None:
    assert prefix_units(n, fraction) == expected
