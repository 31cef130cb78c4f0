"""The early-warning policy: when the streaming monitor raises its warning.

In the spirit of Vogt et al. (2021): a warning needs the risk at or above ``threshold`` for
``window`` consecutive units (messages; a long message counts one unit per 8 tokens, see
:mod:`groomwatch.detect.units`) and at least ``min_messages`` units seen. The deployer sets it; the
shipped model carries a default chosen by cross-validation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from groomwatch.errors import InputError, RecordError


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """``threshold`` in [0, 1]; ``window`` >= 1 consecutive units at or above it; ``min_messages``
    >= 1 units seen before a warning can fire."""

    threshold: float
    window: int = 1
    min_messages: int = 1

    def __post_init__(self) -> None:
        t = self.threshold
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
            raise RecordError("must be a number between 0 and 1", field="threshold")
        if not 0.0 <= float(t) <= 1.0:
            raise RecordError(f"must be between 0 and 1, not {t}", field="threshold")
        for name in ("window", "min_messages"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise RecordError(f"must be a whole number >= 1, not {v!r}", field=name)
        object.__setattr__(self, "threshold", float(t))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AlertPolicy:
        if not isinstance(data, Mapping):
            raise InputError("an alert policy must be an object")
        unknown = set(data) - {"threshold", "window", "min_messages"}
        if unknown:
            raise RecordError("unknown field", field=sorted(unknown)[0])
        if "threshold" not in data:
            raise RecordError("is required", field="threshold")
        return cls(
            threshold=data["threshold"],
            window=data.get("window", 1),
            min_messages=data.get("min_messages", 1),
        )

    def with_threshold(self, threshold: float) -> AlertPolicy:
        return AlertPolicy(threshold, self.window, self.min_messages)


def persistence_step(policy: AlertPolicy, risk: float, run: int, n_units: int) -> tuple[int, bool]:
    """One unit of the persistence rule: the new run of consecutive units at or above the
    threshold (capped at ``window``), and whether the warning condition holds after it.
    ``n_units`` counts the units seen including this one."""
    run = min(run + 1, policy.window) if risk >= policy.threshold else 0
    return run, run >= policy.window and n_units >= policy.min_messages
