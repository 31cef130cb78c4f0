"""api: keep a conversation's row, detector state included, in the table up to a page (PostgreSQL)

Every append rewrites the conversation's row with its detector's state (a few KB of JSON). By
default PostgreSQL compresses a row over ~2 KB and moves the state into the TOAST table: every
append then also writes new TOAST chunks and their index entries. With ``toast_tuple_target``
at its maximum (8160 bytes) a row up to a page stays in the table as it is; longer states are
still compressed and moved out as before. Measured on the 2-core development machine, 5 KB
states: ~170 us of PostgreSQL CPU an update, against ~270-295 us (docs/platform-integration.md,
"Performance (measured)"). Nothing changes on SQLite, or in what is stored.

Revision ID: api_0003
Revises: api_0002
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "api_0003"
down_revision = "api_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE api_conversations SET (toast_tuple_target = 8160)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE api_conversations RESET (toast_tuple_target)")
