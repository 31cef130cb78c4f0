"""api: the participants declared for a streamed conversation (id, role, age)

Revision ID: api_0002
Revises: api_0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "api_0002"
down_revision = "api_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_conversations") as batch:
        batch.add_column(sa.Column("participants", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_conversations") as batch:
        batch.drop_column("participants")
