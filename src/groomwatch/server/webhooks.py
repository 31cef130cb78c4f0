"""Webhooks: signing, verification, and the outbox delivery loop.

Signature (Stripe-style): the receiver gets the JSON body and the headers

    X-Groomwatch-Event-Id: <event id>           (the same on every retry: deduplicate on it)
    X-Groomwatch-Timestamp: <unix seconds>      (when this attempt was signed)
    X-Groomwatch-Signature: v1=<hex>            (HMAC-SHA256 of "<timestamp>.<body>" with the
                                                  tenant's webhook secret)

and accepts it only if the signature matches (compared in constant time) and the timestamp is
within a tolerance of its clock (:func:`verify_signature`, 5 minutes by default), so a recorded
request cannot be replayed later.

Delivery: :func:`enqueue` writes a :class:`~groomwatch.server.models.WebhookEvent` in the caller's
transaction, i.e. in the same commit as the append that fired the alert: either both are stored
or neither. :class:`WebhookDelivery` runs in a thread of every server process: it claims due rows
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so processes never take the same row; the write lock on
SQLite) by moving their ``next_attempt_at`` one lease ahead, commits, posts them, and records the
outcome; a failure is retried with exponential backoff and jitter up to ``webhook_max_attempts``.
A process killed mid-delivery leaves its rows to be taken again when the lease ends, so delivery
is at least once: receivers deduplicate on the event id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from groomwatch import __version__
from groomwatch.server import metrics
from groomwatch.server.logging import exception_summary, get_logger
from groomwatch.server.models import Tenant, WebhookEvent, utcnow
from groomwatch.server.transactions import is_postgres, write_transaction
from groomwatch.settings import Settings

SIGNATURE_HEADER = "X-Groomwatch-Signature"
TIMESTAMP_HEADER = "X-Groomwatch-Timestamp"
EVENT_ID_HEADER = "X-Groomwatch-Event-Id"
DEFAULT_TOLERANCE_SECONDS = 300

_log = get_logger("webhooks")


class SignatureError(ValueError):
    """A webhook failed verification (bad or missing signature, or a stale timestamp)."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Groomwatch-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def verify_signature(
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """What a receiver does (usable as is): raises :class:`SignatureError` unless the request was
    signed with ``secret`` within ``tolerance`` seconds. ``headers`` lookup is case-insensitive
    when given a case-insensitive mapping (as web frameworks do)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ts = lowered.get(TIMESTAMP_HEADER.lower())
    raw_sig = lowered.get(SIGNATURE_HEADER.lower())
    if not raw_ts or not raw_sig:
        raise SignatureError("missing signature headers")
    try:
        timestamp = int(raw_ts)
    except ValueError:
        raise SignatureError("bad timestamp") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureError("timestamp outside the tolerance (replayed or clock skew)")
    expected = sign(secret, timestamp, body)
    given = [s.strip() for s in raw_sig.split(",")]
    if not any(hmac.compare_digest(expected, s) for s in given):
        raise SignatureError("signature does not match")


def enqueue(
    session: Session,
    tenant: Tenant,
    event_type: str,
    data: dict[str, Any],
    *,
    conversation_id: int | None = None,
) -> WebhookEvent | None:
    """Add an event to the outbox in ``session``'s transaction (None if the tenant has no
    webhook)."""
    if not tenant.webhook_url or not tenant.webhook_secret:
        return None
    event = WebhookEvent(
        tenant_id=tenant.id, conversation_id=conversation_id, type=event_type, payload={}
    )
    session.add(event)
    session.flush()
    event.payload = event_payload(event.id, event_type, tenant, data)
    return event


def event_payload(
    event_id: str, event_type: str, tenant: Tenant, data: dict[str, Any]
) -> dict[str, Any]:
    """The body of a webhook event (what the receiver gets, signed)."""
    return {
        "id": event_id,
        "type": event_type,
        "created": utcnow().isoformat(),
        "tenant": tenant.name,
        "data": data,
    }


def backoff_seconds(attempts: int, base: float, cap: float) -> float:
    """Delay before attempt ``attempts + 1``: ``base * 2**(attempts-1)``, capped, with up to 20%
    jitter so that a receiver coming back is not hit by every retry at once."""
    delay: float = min(cap, base * (2 ** max(0, attempts - 1)))
    return delay * (1.0 + random.random() * 0.2)  # noqa: S311 - jitter, not a secret


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: str
    attempts: int
    url: str
    secret: str
    body: bytes


class WebhookDelivery:
    """The outbox delivery loop of one process (a daemon thread)."""

    def __init__(self, session_factory: sessionmaker[Session], settings: Settings) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: httpx.Client | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._client = httpx.Client(
            timeout=self.settings.webhook_timeout_seconds,
            follow_redirects=False,
            headers={"User-Agent": f"groomwatch-webhooks/{__version__}"},
        )
        self._thread = threading.Thread(target=self._run, name="groomwatch-webhooks", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def notify(self) -> None:
        """An event was committed: look at the outbox now rather than at the next poll."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                worked = self.deliver_due()
            except Exception as exc:  # the loop must survive a database hiccup
                _log.warning("outbox pass failed", extra=exception_summary(exc))
                worked = 0
            if worked == 0:
                self._wake.wait(self.settings.webhook_poll_seconds)
                self._wake.clear()

    # --- one pass ----------------------------------------------------------------------------
    def claim(self, limit: int = 20) -> list[_Claimed]:
        """Take up to ``limit`` due events: lease them to this process and commit."""
        now = utcnow()
        lease = now + timedelta(seconds=self.settings.webhook_lease_seconds)
        with self.session_factory() as session, write_transaction(session):
            postgres = is_postgres(session)
            query = (
                select(WebhookEvent, Tenant.webhook_url, Tenant.webhook_secret)
                .join(Tenant, Tenant.id == WebhookEvent.tenant_id)
                .where(WebhookEvent.status == "pending", WebhookEvent.next_attempt_at <= now)
                .order_by(WebhookEvent.next_attempt_at)
                .limit(limit)
            )
            if postgres:
                query = query.with_for_update(skip_locked=True, of=WebhookEvent)
            claimed: list[_Claimed] = []
            for event, url, secret in session.execute(query).all():
                if not url or not secret:  # the webhook was removed since: nothing to deliver to
                    event.status = "failed"
                    event.last_error = "tenant has no webhook"
                    continue
                event.next_attempt_at = lease
                event.attempts += 1
                body = json.dumps(event.payload, separators=(",", ":"), sort_keys=True).encode()
                claimed.append(_Claimed(event.id, event.attempts, url, secret, body))
            session.commit()
        return claimed

    def deliver_due(self) -> int:
        """Deliver what is due; the number of events attempted."""
        claimed = self.claim()
        for item in claimed:
            self._deliver(item)
        return len(claimed)

    def _deliver(self, item: _Claimed) -> None:
        assert self._client is not None
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            EVENT_ID_HEADER: item.id,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(item.secret, timestamp, item.body),
        }
        status: int | None = None
        error: str | None = None
        try:
            response = self._client.post(item.url, content=item.body, headers=headers)
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        self._record(item, status, error)

    def _record(self, item: _Claimed, status: int | None, error: str | None) -> None:
        now = utcnow()
        with self.session_factory() as session, write_transaction(session):
            event = session.get(WebhookEvent, item.id)
            if event is None:  # erased meanwhile
                return
            event.last_status = status
            event.last_error = error
            if error is None:
                event.status = "delivered"
                event.delivered_at = now
                outcome = "delivered"
            elif item.attempts >= self.settings.webhook_max_attempts:
                event.status = "failed"
                outcome = "failed"
            else:
                delay = backoff_seconds(
                    item.attempts,
                    self.settings.webhook_backoff_seconds,
                    self.settings.webhook_backoff_max_seconds,
                )
                event.next_attempt_at = now + timedelta(seconds=delay)
                outcome = "retry"
            session.commit()
        metrics.WEBHOOKS.labels(outcome).inc()
        _log.info(
            "webhook attempt",
            extra={
                "event_id": item.id,
                "attempt": item.attempts,
                "status": status,
                "error": error,
                "outcome": outcome,
            },
        )


def outbox_counts(session: Session) -> dict[str, int]:
    """Events by status (for /readyz and operators)."""
    rows = session.execute(
        select(WebhookEvent.status, func.count()).group_by(WebhookEvent.status)
    ).all()
    return {str(s): int(n) for s, n in rows}
