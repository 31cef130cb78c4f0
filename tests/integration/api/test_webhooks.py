"""Signed webhooks from the outbox, delivered to a real receiver on loopback."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from groomwatch.server.models import WebhookEvent
from groomwatch.server.webhooks import EVENT_ID_HEADER


def _events(api: Any) -> list[WebhookEvent]:
    with api.session_factory() as session:
        return list(session.scalars(select(WebhookEvent)))


def _wait_status(api: Any, status: str, timeout: float = 20.0) -> list[WebhookEvent]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = _events(api)
        if events and all(e.status == status for e in events):
            return events
        time.sleep(0.05)
    raise AssertionError(f"events not {status}: {[(e.status, e.attempts) for e in _events(api)]}")


def test_an_alert_is_delivered_once_signed_with_the_steps(
    api: Any, kit: Any, webhook_receiver: Any
) -> None:
    api.set_tenant("acme", webhook_url=webhook_receiver.url, webhook_secret=webhook_receiver.secret)
    fired = api.append("w1", kit.messages(kit.grooming)).json()
    api.append("w1", kit.messages(kit.grooming[-2:]))  # more messages: no second alert
    api.append("w2", kit.messages(kit.ordinary), tenant="calm")  # no alert
    [event] = webhook_receiver.wait_for(1)
    assert webhook_receiver.rejected == 0  # the receiver verified the signature
    assert event["type"] == "alert.fired"
    assert event["tenant"] == "acme"
    assert event["_headers"][EVENT_ID_HEADER] == event["id"]
    data = event["data"]
    assert data["conversation"] == "w1"
    assert data["review"] == fired["review"]
    assert data["first_alert"] == fired["first_alert"]
    assert data["suspect"] == "adult1"
    assert {"secrecy", "meeting"} <= set(data["tactics"])
    assert data["findings"]
    assert "preserve_evidence" in {s["key"] for s in data["steps"]}
    assert "human review" in data["notice"]
    [row] = _wait_status(api, "delivered")
    assert row.attempts == 1
    assert row.last_status == 204
    time.sleep(0.3)
    assert len(webhook_receiver.events) == 1


def test_failed_deliveries_are_retried_with_backoff(
    api: Any, kit: Any, webhook_receiver: Any
) -> None:
    api.set_tenant("acme", webhook_url=webhook_receiver.url, webhook_secret=webhook_receiver.secret)
    webhook_receiver.fail_next = 2
    api.append("w3", kit.messages(kit.grooming))
    webhook_receiver.wait_for(1)
    [row] = _wait_status(api, "delivered")
    assert row.attempts == 3


def test_a_wrong_secret_is_rejected_by_the_receiver_and_retried(
    api: Any, kit: Any, webhook_receiver: Any
) -> None:
    api.set_tenant("acme", webhook_url=webhook_receiver.url, webhook_secret="whsec_wrong_secret_xx")
    api.append("w4", kit.messages(kit.grooming))
    deadline = time.monotonic() + 10
    while webhook_receiver.rejected < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert webhook_receiver.rejected >= 2
    assert webhook_receiver.events == []
    [row] = _events(api)
    assert row.status == "pending"
    assert row.last_status == 401


def test_no_webhook_configured_means_no_outbox_rows(api: Any, kit: Any) -> None:
    assert api.append("w5", kit.messages(kit.grooming)).json()["fired"] is True
    assert _events(api) == []
