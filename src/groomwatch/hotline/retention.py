"""The retention policy: once a report has had an outcome (referred, notice sent, closed) for
longer than its category's retention period (``Settings.retention_days``), its evidence files and
personal data are deleted. What stays: the reference, category, status, dates, evidence hashes
(so that a file seen again can still be recognised) and the audit log; that is what statistics
and the audit trail need, and none of it identifies the reporter.

A report still open (received or in assessment) is never expired. A file shared with a report
that is kept stays on disk until no kept report uses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from groomwatch.hotline import audit
from groomwatch.hotline.evidence import EvidenceStore
from groomwatch.hotline.models import Evidence, Report
from groomwatch.hotline.workflow import Status, as_utc, utcnow

ERASED = "[deleted under the retention policy]"


@dataclass(frozen=True, slots=True)
class RetentionResult:
    reports: tuple[str, ...]
    files_deleted: int
    dry_run: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "reports": list(self.reports),
            "files_deleted": self.files_deleted,
            "dry_run": self.dry_run,
        }


def expired(
    session: Session, retention_days: Mapping[str, int], *, now: datetime | None = None
) -> list[Report]:
    """Reports past their retention period and not yet erased."""
    now = now or utcnow()
    candidates = session.scalars(
        select(Report)
        .where(
            Report.erased_at.is_(None),
            Report.outcome_at.is_not(None),
            Report.status.not_in([Status.RECEIVED.value, Status.IN_ASSESSMENT.value]),
        )
        .order_by(Report.id)
    )
    out = []
    for report in candidates:
        days = retention_days.get(report.category)
        if days is None or report.outcome_at is None:
            continue  # no period configured for this category: kept
        if as_utc(report.outcome_at) + timedelta(days=days) <= now:
            out.append(report)
    return out


def apply(
    session: Session,
    store: EvidenceStore,
    retention_days: Mapping[str, int],
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    actor: str = "system",
) -> RetentionResult:
    """Erase expired reports' evidence and personal data; the caller commits. Every erased report
    is audit-logged."""
    now = now or utcnow()
    reports = expired(session, retention_days, now=now)
    if dry_run:
        return RetentionResult(tuple(r.reference for r in reports), 0, True)
    erased_ids = {r.id for r in reports}
    deleted = 0
    for report in reports:
        removed = []
        for item in report.evidence:
            if item.purged_at is not None:
                continue
            item.purged_at = now
            item.analysis = None
            item.filename = "deleted"
            still_used = session.scalar(
                select(Evidence.id)
                .where(
                    Evidence.sha256 == item.sha256,
                    Evidence.purged_at.is_(None),
                    Evidence.report_id.not_in(erased_ids),
                )
                .limit(1)
            )
            if still_used is None and store.delete(item.sha256):
                deleted += 1
                removed.append(item.sha256)
        report.description = ERASED if report.description else ""
        report.contact_name = report.contact_email = report.contact_phone = None
        report.url = report.normalised_url = None
        for note in report.notes:
            note.text = ERASED
        report.erased_at = now
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="retention.erase",
            object_type="report",
            object_id=report.id,
            details={"reference": report.reference, "files_deleted": removed},
        )
    return RetentionResult(tuple(r.reference for r in reports), deleted, False)
