"""The per-key token bucket."""

from __future__ import annotations

import pytest

from groomwatch.server.ratelimit import TokenBucketLimiter


def test_burst_then_refill_at_the_rate() -> None:
    limiter = TokenBucketLimiter(rate=10.0, burst=5)
    assert all(limiter.take("k", now=0.0).allowed for _ in range(5))
    refused = limiter.take("k", now=0.0)
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(0.1)
    assert limiter.take("k", now=0.1).allowed
    assert not limiter.take("k", now=0.1).allowed


def test_keys_have_their_own_buckets() -> None:
    limiter = TokenBucketLimiter(rate=1.0, burst=1)
    assert limiter.take("a", now=0.0).allowed
    assert not limiter.take("a", now=0.0).allowed
    assert limiter.take("b", now=0.0).allowed


def test_a_tenant_rate_scales_the_burst() -> None:
    limiter = TokenBucketLimiter(rate=10.0, burst=2)
    allowed = sum(limiter.take("fast", rate=100.0, now=0.0).allowed for _ in range(50))
    assert allowed == 20


def test_least_recently_used_buckets_are_dropped_beyond_max_keys() -> None:
    limiter = TokenBucketLimiter(rate=1.0, burst=1, max_keys=2)
    for key in ("a", "b", "c"):
        assert limiter.take(key, now=0.0).allowed
    assert limiter.take("a", now=0.0).allowed  # "a" was dropped, so it starts full again
    assert not limiter.take("c", now=0.0).allowed


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBucketLimiter(rate=0, burst=1)
