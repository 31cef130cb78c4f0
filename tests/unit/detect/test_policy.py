from __future__ import annotations

import pytest

from groomwatch.detect import AlertPolicy
from groomwatch.detect.policy import persistence_step
from groomwatch.errors import InputError, RecordError


def test_round_trip() -> None:
    p = AlertPolicy(threshold=0.7, window=3, min_messages=2)
    assert AlertPolicy.from_dict(p.to_dict()) == p
    assert p.to_dict() == {"threshold": 0.7, "window": 3, "min_messages": 2}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"threshold": 1.5}, "threshold"),
        ({"threshold": float("nan")}, "threshold"),
        ({"threshold": "0.5"}, "threshold"),
        ({"threshold": 0.5, "window": 0}, "window"),
        ({"threshold": 0.5, "min_messages": 1.5}, "min_messages"),
        ({"threshold": 0.5, "window": True}, "window"),
    ],
)
def test_invalid_policies_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(RecordError) as info:
        AlertPolicy(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_from_dict_rejects_unknown_and_missing() -> None:
    with pytest.raises(RecordError, match="threshold"):
        AlertPolicy.from_dict({"window": 2})
    with pytest.raises(RecordError, match="colour"):
        AlertPolicy.from_dict({"threshold": 0.5, "colour": 1})
    with pytest.raises(InputError):
        AlertPolicy.from_dict([1])  # type: ignore[arg-type]


def test_persistence_needs_window_consecutive_units_and_minimum() -> None:
    p = AlertPolicy(threshold=0.5, window=2, min_messages=3)
    run, alert = persistence_step(p, 0.9, 0, 1)
    assert (run, alert) == (1, False)
    run, alert = persistence_step(p, 0.9, run, 2)
    assert (run, alert) == (2, False)  # only 2 units seen, minimum is 3
    run, alert = persistence_step(p, 0.9, run, 3)
    assert (run, alert) == (2, True)
    run, alert = persistence_step(p, 0.4, run, 4)
    assert (run, alert) == (0, False)
