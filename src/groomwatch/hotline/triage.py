"""The triage queue: open reports ordered by priority.

Priority (up to 105) adds up what the seeds and hotline practice say makes a report urgent:

- the category (30-40, :data:`~groomwatch.hotline.workflow.CATEGORY_WEIGHT`): sexual extortion
  first, a child under threat now;
- the detector's risk for the attached chats (up to 30);
- a match of an attachment against a known-hash list (20): known material, a child in it;
- the age of the report (up to 10, one point a day): nothing waits for ever;
- new information from the reporter since the last change by an analyst (5).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from groomwatch.hotline.models import Report
from groomwatch.hotline.workflow import CATEGORY_WEIGHT, Category, Status, as_utc, utcnow


@dataclass(frozen=True, slots=True)
class Priority:
    """A report's priority and what it is made of (shown in the queue)."""

    score: float
    category: float
    risk: float
    known_material: float
    age: float
    reporter_update: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 1),
            "category": self.category,
            "risk": round(self.risk, 1),
            "known_material": self.known_material,
            "age": round(self.age, 1),
            "reporter_update": self.reporter_update,
        }


def priority(report: Report, now: datetime | None = None) -> Priority:
    now = now or utcnow()
    category = CATEGORY_WEIGHT.get(Category(report.category), 30.0)
    risk = 30.0 * float(report.risk or 0.0)
    known = 20.0 if report.known_material else 0.0
    age_days = max(0.0, (now - as_utc(report.created_at)).total_seconds() / 86400)
    age = min(10.0, age_days)
    updated = (
        5.0
        if report.reporter_updated_at is not None
        and as_utc(report.reporter_updated_at) >= as_utc(report.updated_at)
        else 0.0
    )
    return Priority(category + risk + known + age + updated, category, risk, known, age, updated)


@dataclass(frozen=True, slots=True)
class QueueItem:
    report: Report
    priority: Priority


def queue(
    session: Session,
    *,
    statuses: tuple[Status, ...] = (Status.RECEIVED, Status.IN_ASSESSMENT),
    category: Category | None = None,
    assigned_to: int | None = None,
    now: datetime | None = None,
    limit: int = 200,
) -> list[QueueItem]:
    """Open reports (or those in ``statuses``), highest priority first, oldest first on ties."""
    stmt = (
        select(Report)
        .where(Report.status.in_([s.value for s in statuses]))
        .options(selectinload(Report.assigned_to))
    )
    if category is not None:
        stmt = stmt.where(Report.category == category.value)
    if assigned_to is not None:
        stmt = stmt.where(Report.assigned_to_id == assigned_to)
    now = now or utcnow()
    items = [QueueItem(r, priority(r, now)) for r in session.scalars(stmt)]
    items.sort(key=lambda i: (-i.priority.score, as_utc(i.report.created_at), i.report.id))
    return items[:limit]
