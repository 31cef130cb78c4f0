"""The hotline's tables: users, reports (each report is a case), evidence, notes, status changes
and the hash-chained audit log. Migrations: ``db/migrations/versions/hotline_*.py`` (Alembic branch
``hotline``).

Personal data lives in ``Report.description``, the ``contact_*`` columns, the evidence files and
``Evidence.analysis``; retention (``hotline.retention``) erases them, and nothing here is ever
logged.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from groomwatch.db.base import Base
from groomwatch.hotline.workflow import utcnow


class User(Base):
    """An analyst, supervisor or admin of the hotline."""

    __tablename__ = "hotline_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Report(Base):
    """A report from the public, and the case the hotline works on it."""

    __tablename__ = "hotline_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    status_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    category: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(40), index=True, default="received")
    url: Mapped[str | None] = mapped_column(Text, nullable=True)
    normalised_url: Mapped[str | None] = mapped_column(Text, nullable=True, index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    anonymous: Mapped[bool] = mapped_column(Boolean, default=True)
    contact_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    contact_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    contact_phone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    language: Mapped[str] = mapped_column(String(8), default="en")
    risk: Mapped[float | None] = mapped_column(Float, nullable=True)
    known_material: Mapped[bool] = mapped_column(Boolean, default=False)
    assigned_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("hotline_users.id"), nullable=True
    )
    duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("hotline_reports.id"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reporter_updated_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    first_assessed_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    referred_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    outcome_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    assigned_to: Mapped[User | None] = relationship(foreign_keys=[assigned_to_id])
    evidence: Mapped[list[Evidence]] = relationship(
        back_populates="report", order_by="Evidence.id", cascade="all, delete-orphan"
    )
    notes: Mapped[list[Note]] = relationship(
        back_populates="report", order_by="Note.id", cascade="all, delete-orphan"
    )
    status_changes: Mapped[list[StatusChange]] = relationship(
        back_populates="report", order_by="StatusChange.id", cascade="all, delete-orphan"
    )


class Evidence(Base):
    """One uploaded file: its hashes taken at intake, what it is (by content), and for a chat
    export the detector's analysis. The bytes live in the evidence store under their SHA-256."""

    __tablename__ = "hotline_evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("hotline_reports.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # chat | screenshot
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    md5: Mapped[str] = mapped_column(String(32), index=True)
    pdq: Mapped[str | None] = mapped_column(String(64), nullable=True)
    known_material: Mapped[bool] = mapped_column(Boolean, default=False)
    risk: Mapped[float | None] = mapped_column(Float, nullable=True)
    analysis: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON
    source: Mapped[str] = mapped_column(String(20), default="reporter")  # reporter | analyst
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    report: Mapped[Report] = relationship(back_populates="evidence")


class Note(Base):
    """A note on a case: ``internal`` (analysts only), ``public`` (the reporter sees it) or
    ``reporter`` (information the reporter added through the status link)."""

    __tablename__ = "hotline_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("hotline_reports.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("hotline_users.id"), nullable=True)
    visibility: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    report: Mapped[Report] = relationship(back_populates="notes")
    author: Mapped[User | None] = relationship()


class StatusChange(Base):
    """One status change of a case (for the history and the statistics)."""

    __tablename__ = "hotline_status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("hotline_reports.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("hotline_users.id"), nullable=True)
    from_status: Mapped[str] = mapped_column(String(40))
    to_status: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    report: Mapped[Report] = relationship(back_populates="status_changes")
    user: Mapped[User | None] = relationship()


class AuditEntry(Base):
    """One entry of the append-only audit log. ``hash`` is SHA-256 over the entry's fields and
    ``prev_hash`` (the previous entry's hash), so any edit, deletion or reordering breaks the
    chain. ``prev_hash`` is unique: two writers cannot fork the chain. Database triggers refuse
    UPDATE and DELETE."""

    __tablename__ = "hotline_audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[str] = mapped_column(String(32))  # ISO 8601 UTC, exactly as hashed
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(64), index=True)
    details: Mapped[str] = mapped_column(Text)  # canonical JSON, exactly as hashed
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
