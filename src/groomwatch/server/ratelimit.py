"""Per-key rate limits: a token bucket per API key, in this process's memory.

The limit is per server process: with N processes behind a load balancer a key may make up to N
times the rate in total. That is the usual trade (no shared store on the hot path); a deployment
that needs one global limit puts it in the load balancer or gateway.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    retry_after: float = 0.0


class TokenBucketLimiter:
    """``rate`` tokens a second, up to ``burst``; one request takes one token. Buckets of keys
    not seen lately are dropped beyond ``max_keys`` (least recently used first)."""

    def __init__(self, rate: float, burst: int, *, max_keys: int = 10_000) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(
        self, key: str, *, rate: float | None = None, now: float | None = None
    ) -> RateDecision:
        """Take one token from ``key``'s bucket; ``rate`` overrides the default for this key
        (a tenant's own limit; its burst covers the same time as the default's)."""
        r = rate if rate is not None and rate > 0 else self.rate
        burst = max(1.0, r * self.burst / self.rate)
        t = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(key, (burst, t))
            tokens = min(burst, tokens + (t - last) * r)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, t)
                decision = RateDecision(True)
            else:
                self._buckets[key] = (tokens, t)
                decision = RateDecision(False, retry_after=(1.0 - tokens) / r)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return decision
