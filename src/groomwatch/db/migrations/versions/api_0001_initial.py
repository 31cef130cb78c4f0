"""api: tenants, API keys, streamed conversations, messages, findings, reviews, webhook outbox

Revision ID: api_0001
Revises:
Create Date: 2026-11-23

The first revision of the ``api`` branch (the detection API's tables, groomwatch.server.models).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "api_0001"
down_revision = None
branch_labels = ("api",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tenants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("window", sa.Integer(), nullable=True),
        sa.Column("min_messages", sa.Integer(), nullable=True),
        sa.Column("rate_limit", sa.Float(), nullable=True),
        sa.Column("webhook_url", sa.String(length=2000), nullable=True),
        sa.Column("webhook_secret", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tenants")),
        sa.UniqueConstraint("name", name=op.f("uq_api_tenants_name")),
    )
    op.create_table(
        "api_conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("risk", sa.Float(), nullable=False),
        sa.Column("alert", sa.Boolean(), nullable=False),
        sa.Column("first_alert", sa.Integer(), nullable=True),
        sa.Column("suspect", sa.String(length=200), nullable=True),
        sa.Column("state", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["api_tenants.id"],
            name=op.f("fk_api_conversations_tenant_id_api_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_conversations")),
        sa.UniqueConstraint("tenant_id", "external_id", name="uq_api_conversations_external_id"),
    )
    op.create_index(
        op.f("ix_api_conversations_updated_at"), "api_conversations", ["updated_at"], unique=False
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["api_tenants.id"],
            name=op.f("fk_api_keys_tenant_id_api_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_index(op.f("ix_api_keys_tenant_id"), "api_keys", ["tenant_id"], unique=False)
    op.create_table(
        "api_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("message", sa.Integer(), nullable=False),
        sa.Column("tactic", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["api_conversations.id"],
            name=op.f("fk_api_findings_conversation_id_api_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_findings")),
    )
    op.create_index(
        op.f("ix_api_findings_conversation_id"), "api_findings", ["conversation_id"], unique=False
    )
    op.create_table(
        "api_idempotent_appends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_digest", sa.String(length=64), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["api_conversations.id"],
            name=op.f("fk_api_idempotent_appends_conversation_id_api_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_idempotent_appends")),
        sa.UniqueConstraint("conversation_id", "key", name="uq_api_idempotent_appends_key"),
    )
    op.create_table(
        "api_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=True),
        sa.Column("author", sa.String(length=200), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("time", sa.String(length=64), nullable=True),
        sa.Column("risk", sa.Float(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["api_conversations.id"],
            name=op.f("fk_api_messages_conversation_id_api_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_messages")),
        sa.UniqueConstraint("conversation_id", "client_id", name="uq_api_messages_client_id"),
        sa.UniqueConstraint("conversation_id", "position", name="uq_api_messages_position"),
    )
    op.create_table(
        "api_reviews",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Integer(), nullable=False),
        sa.Column("risk", sa.Float(), nullable=False),
        sa.Column("suspect", sa.String(length=200), nullable=True),
        sa.Column("tactics", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reviewer", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["api_conversations.id"],
            name=op.f("fk_api_reviews_conversation_id_api_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["api_tenants.id"],
            name=op.f("fk_api_reviews_tenant_id_api_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_reviews")),
        sa.UniqueConstraint("conversation_id", name=op.f("uq_api_reviews_conversation_id")),
    )
    op.create_index(
        "ix_api_reviews_tenant_status",
        "api_reviews",
        ["tenant_id", "status", "created_at"],
        unique=False,
    )
    op.create_table(
        "api_webhook_events",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["api_conversations.id"],
            name=op.f("fk_api_webhook_events_conversation_id_api_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["api_tenants.id"],
            name=op.f("fk_api_webhook_events_tenant_id_api_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_webhook_events")),
    )
    op.create_index(
        op.f("ix_api_webhook_events_conversation_id"),
        "api_webhook_events",
        ["conversation_id"],
        unique=False,
    )
    op.create_index(
        "ix_api_webhook_events_due",
        "api_webhook_events",
        ["status", "next_attempt_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("api_webhook_events")
    op.drop_table("api_reviews")
    op.drop_table("api_messages")
    op.drop_table("api_idempotent_appends")
    op.drop_table("api_findings")
    op.drop_table("api_keys")
    op.drop_table("api_conversations")
    op.drop_table("api_tenants")
