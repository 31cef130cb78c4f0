"""Tables of the real-time detection API (Alembic branch ``api``).

- :class:`Tenant`: a platform using the API, with its early-warning settings and its webhook.
- :class:`ApiKey`: a tenant's keys, stored as a SHA-256 digest with a short lookup prefix; the key
  itself is shown once and never stored.
- :class:`StreamedConversation`: one conversation streamed by a tenant, with the streaming
  detector's state, so that a restarted (or another) server process carries on where it stopped.
- :class:`StoredMessage`, :class:`StoredFinding`: the messages (kept as evidence, erasable) and the
  findings; :attr:`StoredMessage.risk` is the risk after that message, i.e. the risk history.
- :class:`IdempotentAppend`: the response to an append made with an ``Idempotency-Key``.
- :class:`Review`: an alert queued for human review, and the reviewer's decision.
- :class:`WebhookEvent`: the outbox of webhook deliveries, written in the same transaction as the
  append that fired the alert, delivered (and retried) by a background loop in each process.

Every row a conversation owns references it with ``ON DELETE CASCADE`` and erasure also deletes
them explicitly, so erasing a conversation erases its messages, findings, reviews and events.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from groomwatch.db.base import Base


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_public_id() -> str:
    return uuid.uuid4().hex


class Tenant(Base):
    """A platform: its keys, its early-warning settings (None = the model's default) and its
    webhook."""

    __tablename__ = "api_tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    threshold: Mapped[float | None] = mapped_column(Float, default=None)
    window: Mapped[int | None] = mapped_column(Integer, default=None)
    min_messages: Mapped[int | None] = mapped_column(Integer, default=None)
    rate_limit: Mapped[float | None] = mapped_column(Float, default=None)
    webhook_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    webhook_secret: Mapped[str | None] = mapped_column(String(200), default=None)

    keys: Mapped[list[ApiKey]] = relationship(back_populates="tenant", cascade="all, delete-orphan")

    def policy_overrides(self) -> dict[str, Any]:
        """The early-warning settings this tenant set (the others come from the model)."""
        out: dict[str, Any] = {}
        if self.threshold is not None:
            out["threshold"] = self.threshold
        if self.window is not None:
            out["window"] = self.window
        if self.min_messages is not None:
            out["min_messages"] = self.min_messages
        return out


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("api_tenants.id", ondelete="CASCADE"), index=True
    )
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    tenant: Mapped[Tenant] = relationship(back_populates="keys")


class StreamedConversation(Base):
    __tablename__ = "api_conversations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id", name="uq_api_conversations_external_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("api_tenants.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    version: Mapped[int] = mapped_column(Integer, default=0)
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    risk: Mapped[float] = mapped_column(Float, default=0.0)
    alert: Mapped[bool] = mapped_column(Boolean, default=False)
    first_alert: Mapped[int | None] = mapped_column(Integer, default=None)
    suspect: Mapped[str | None] = mapped_column(String(200), default=None)
    state: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    participants: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=None)
    """The participants the platform declared (``{"id", "role", "age"}``), context for the
    detector's tactic pattern (declared adult to child)."""


class StoredMessage(Base):
    __tablename__ = "api_messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "position", name="uq_api_messages_position"),
        UniqueConstraint("conversation_id", "client_id", name="uq_api_messages_client_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("api_conversations.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer)
    client_id: Mapped[str | None] = mapped_column(String(200), default=None)
    author: Mapped[str | None] = mapped_column(String(200), default=None)
    text: Mapped[str] = mapped_column(Text)
    time: Mapped[str | None] = mapped_column(String(64), default=None)
    risk: Mapped[float] = mapped_column(Float)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StoredFinding(Base):
    __tablename__ = "api_findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("api_conversations.id", ondelete="CASCADE"), index=True
    )
    message: Mapped[int] = mapped_column(Integer)
    tactic: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[str] = mapped_column(Text)
    start: Mapped[int] = mapped_column(Integer, default=0)
    end: Mapped[int] = mapped_column(Integer, default=0)
    author: Mapped[str | None] = mapped_column(String(200), default=None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tactic": self.tactic,
            "message": self.message,
            "score": round(self.score, 4),
            "evidence": self.evidence,
            "start": self.start,
            "end": self.end,
        }


class IdempotentAppend(Base):
    __tablename__ = "api_idempotent_appends"
    __table_args__ = (
        UniqueConstraint("conversation_id", "key", name="uq_api_idempotent_appends_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("api_conversations.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(200))
    request_digest: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Review(Base):
    """An alert waiting for (or given) a human decision: ``pending``, ``confirmed``,
    ``dismissed``."""

    __tablename__ = "api_reviews"
    __table_args__ = (Index("ix_api_reviews_tenant_status", "tenant_id", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_public_id)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("api_tenants.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("api_conversations.id", ondelete="CASCADE"), unique=True
    )
    external_id: Mapped[str] = mapped_column(String(200))
    message: Mapped[int] = mapped_column(Integer)
    risk: Mapped[float] = mapped_column(Float)
    suspect: Mapped[str | None] = mapped_column(String(200), default=None)
    tactics: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    note: Mapped[str | None] = mapped_column(Text, default=None)
    reviewer: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class WebhookEvent(Base):
    """One webhook to deliver: ``pending`` until the receiver answers 2xx (``delivered``) or the
    attempts run out (``failed``). ``next_attempt_at`` is both the backoff and the lease a process
    takes when it claims the row, so a process that dies mid-delivery leaves it to another."""

    __tablename__ = "api_webhook_events"
    __table_args__ = (Index("ix_api_webhook_events_due", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_public_id)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("api_tenants.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_conversations.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_status: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
