"""hotline: users, reports, evidence, notes, status changes, append-only audit log

Revision ID: hotline_0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "hotline_0001"
down_revision = None
branch_labels = ("hotline",)
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "hotline_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", TZ, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("last_login_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_hotline_users"),
        sa.UniqueConstraint("email", name="uq_hotline_users_email"),
    )
    op.create_table(
        "hotline_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(32), nullable=False),
        sa.Column("status_token_hash", sa.String(64), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("normalised_url", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("contact_name", sa.String(200), nullable=True),
        sa.Column("contact_email", sa.String(320), nullable=True),
        sa.Column("contact_phone", sa.String(64), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("risk", sa.Float(), nullable=True),
        sa.Column("known_material", sa.Boolean(), nullable=False),
        sa.Column("assigned_to_id", sa.Integer(), nullable=True),
        sa.Column("duplicate_of_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("reporter_updated_at", TZ, nullable=True),
        sa.Column("first_assessed_at", TZ, nullable=True),
        sa.Column("referred_at", TZ, nullable=True),
        sa.Column("outcome_at", TZ, nullable=True),
        sa.Column("erased_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_hotline_reports"),
        sa.UniqueConstraint("reference", name="uq_hotline_reports_reference"),
        sa.UniqueConstraint("status_token_hash", name="uq_hotline_reports_status_token_hash"),
        sa.ForeignKeyConstraint(
            ["assigned_to_id"],
            ["hotline_users.id"],
            name="fk_hotline_reports_assigned_to_id_hotline_users",
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"],
            ["hotline_reports.id"],
            name="fk_hotline_reports_duplicate_of_id_hotline_reports",
        ),
    )
    op.create_index("ix_hotline_reports_category", "hotline_reports", ["category"])
    op.create_index("ix_hotline_reports_status", "hotline_reports", ["status"])
    op.create_index("ix_hotline_reports_normalised_url", "hotline_reports", ["normalised_url"])
    op.create_table(
        "hotline_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("md5", sa.String(32), nullable=False),
        sa.Column("pdq", sa.String(64), nullable=True),
        sa.Column("known_material", sa.Boolean(), nullable=False),
        sa.Column("risk", sa.Float(), nullable=True),
        sa.Column("analysis", sa.Text(), nullable=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("purged_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_hotline_evidence"),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["hotline_reports.id"],
            name="fk_hotline_evidence_report_id_hotline_reports",
        ),
    )
    op.create_index("ix_hotline_evidence_report_id", "hotline_evidence", ["report_id"])
    op.create_index("ix_hotline_evidence_sha256", "hotline_evidence", ["sha256"])
    op.create_index("ix_hotline_evidence_md5", "hotline_evidence", ["md5"])
    op.create_table(
        "hotline_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("visibility", sa.String(20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hotline_notes"),
        sa.ForeignKeyConstraint(
            ["report_id"], ["hotline_reports.id"], name="fk_hotline_notes_report_id_hotline_reports"
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["hotline_users.id"], name="fk_hotline_notes_author_id_hotline_users"
        ),
    )
    op.create_index("ix_hotline_notes_report_id", "hotline_notes", ["report_id"])
    op.create_table(
        "hotline_status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("from_status", sa.String(40), nullable=False),
        sa.Column("to_status", sa.String(40), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hotline_status_changes"),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["hotline_reports.id"],
            name="fk_hotline_status_changes_report_id_hotline_reports",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["hotline_users.id"],
            name="fk_hotline_status_changes_user_id_hotline_users",
        ),
    )
    op.create_index("ix_hotline_status_changes_report_id", "hotline_status_changes", ["report_id"])
    op.create_table(
        "hotline_audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("object_type", sa.String(40), nullable=False),
        sa.Column("object_id", sa.String(64), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hotline_audit_log"),
        sa.UniqueConstraint("seq", name="uq_hotline_audit_log_seq"),
        sa.UniqueConstraint("prev_hash", name="uq_hotline_audit_log_prev_hash"),
        sa.UniqueConstraint("hash", name="uq_hotline_audit_log_hash"),
    )
    op.create_index("ix_hotline_audit_log_action", "hotline_audit_log", ["action"])
    op.create_index("ix_hotline_audit_log_object_id", "hotline_audit_log", ["object_id"])

    # The audit log is append-only: the database itself refuses UPDATE and DELETE.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION hotline_audit_log_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'hotline_audit_log is append-only';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER hotline_audit_log_no_change BEFORE UPDATE OR DELETE "
            "ON hotline_audit_log FOR EACH ROW EXECUTE FUNCTION hotline_audit_log_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER hotline_audit_log_no_{verb.lower()} BEFORE {verb} "
                "ON hotline_audit_log BEGIN "
                "SELECT RAISE(ABORT, 'hotline_audit_log is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS hotline_audit_log_no_change ON hotline_audit_log")
        op.execute("DROP FUNCTION IF EXISTS hotline_audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS hotline_audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS hotline_audit_log_no_delete")
    for table in (
        "hotline_audit_log",
        "hotline_status_changes",
        "hotline_notes",
        "hotline_evidence",
        "hotline_reports",
        "hotline_users",
    ):
        op.drop_table(table)
