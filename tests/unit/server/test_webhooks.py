"""Webhook signatures: what a receiver checks."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from groomwatch.server.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    backoff_seconds,
    sign,
    verify_signature,
)

SECRET = "whsec_unit_test_secret"
BODY = b'{"id":"e1","type":"alert.fired"}'


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, 1_700_000_000, BODY) == f"v1={expected}"


def _headers(ts: int, body: bytes = BODY, secret: str = SECRET) -> dict[str, str]:
    return {TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: sign(secret, ts, body)}


def test_verify_accepts_a_fresh_signature_with_any_header_case() -> None:
    headers = {k.lower(): v for k, v in _headers(1000).items()}
    verify_signature(SECRET, BODY, headers, now=1010)


@pytest.mark.parametrize(
    ("body", "secret", "now", "reason"),
    [
        (BODY + b" ", SECRET, 1000, "does not match"),
        (BODY, "another-secret", 1000, "does not match"),
        (BODY, SECRET, 1000 + 301, "tolerance"),
        (BODY, SECRET, 1000 - 301, "tolerance"),
    ],
)
def test_verify_rejects_tampering_wrong_secret_and_replays(
    body: bytes, secret: str, now: int, reason: str
) -> None:
    headers = _headers(1000, BODY, SECRET)
    with pytest.raises(SignatureError, match=reason):
        verify_signature(secret, body, headers, now=now)


def test_verify_rejects_missing_or_malformed_headers() -> None:
    with pytest.raises(SignatureError, match="missing"):
        verify_signature(SECRET, BODY, {}, now=1000)
    with pytest.raises(SignatureError, match="bad timestamp"):
        verify_signature(
            SECRET, BODY, {TIMESTAMP_HEADER: "soon", SIGNATURE_HEADER: "v1=00"}, now=1000
        )


def test_verify_accepts_one_of_several_signatures_during_secret_rotation() -> None:
    headers = _headers(1000)
    headers[SIGNATURE_HEADER] = f"{sign('old-secret', 1000, BODY)}, {headers[SIGNATURE_HEADER]}"
    verify_signature(SECRET, BODY, headers, now=1000)


def test_backoff_grows_exponentially_with_bounded_jitter_and_a_cap() -> None:
    delays = [backoff_seconds(n, 2.0, 60.0) for n in range(1, 9)]
    for n, d in enumerate(delays, start=1):
        nominal = min(60.0, 2.0 * 2 ** (n - 1))
        assert nominal <= d <= nominal * 1.2
    assert delays[-1] <= 72.0
