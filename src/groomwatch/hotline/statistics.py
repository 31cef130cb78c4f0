"""Statistics for the hotline's managers and annual reports: reports by category and by status
over time (per month), and how long reports wait for a first assessment and for a referral.
Counts only: no personal data."""

from __future__ import annotations

import statistics as stats
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from groomwatch.hotline.models import Report
from groomwatch.hotline.workflow import Category, Status, as_utc


@dataclass(frozen=True, slots=True)
class Duration:
    """Hours from receipt, over the reports that got there."""

    count: int
    median_hours: float | None
    p90_hours: float | None

    @classmethod
    def of(cls, hours: list[float]) -> Duration:
        if not hours:
            return cls(0, None, None)
        ordered = sorted(hours)
        p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
        return cls(len(ordered), round(stats.median(ordered), 2), round(p90, 2))

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "median_hours": self.median_hours, "p90_hours": self.p90_hours}


@dataclass(frozen=True, slots=True)
class HotlineStatistics:
    total: int
    months: tuple[str, ...]
    by_category: dict[str, dict[str, int]] = field(default_factory=dict)  # category -> month -> n
    by_status: dict[str, int] = field(default_factory=dict)
    by_status_month: dict[str, dict[str, int]] = field(default_factory=dict)
    to_first_assessment: Duration = Duration(0, None, None)
    to_referral: Duration = Duration(0, None, None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "months": list(self.months),
            "by_category": self.by_category,
            "by_status": self.by_status,
            "by_status_month": self.by_status_month,
            "time_to_first_assessment": self.to_first_assessment.to_dict(),
            "time_to_referral": self.to_referral.to_dict(),
        }


def _month(value: datetime) -> str:
    return as_utc(value).strftime("%Y-%m")


def compute(session: Session, *, since: datetime | None = None) -> HotlineStatistics:
    stmt = select(
        Report.category,
        Report.status,
        Report.created_at,
        Report.first_assessed_at,
        Report.referred_at,
    )
    if since is not None:
        stmt = stmt.where(Report.created_at >= since)
    rows = session.execute(stmt).all()
    months = sorted({_month(r.created_at) for r in rows})
    by_category = {c.value: dict.fromkeys(months, 0) for c in Category}
    by_status_month = {s.value: dict.fromkeys(months, 0) for s in Status}
    by_status: Counter[str] = Counter()
    first: list[float] = []
    referral: list[float] = []
    for r in rows:
        month = _month(r.created_at)
        by_category.setdefault(r.category, dict.fromkeys(months, 0))[month] += 1
        by_status_month.setdefault(r.status, dict.fromkeys(months, 0))[month] += 1
        by_status[r.status] += 1
        created = as_utc(r.created_at)
        if r.first_assessed_at is not None:
            first.append((as_utc(r.first_assessed_at) - created).total_seconds() / 3600)
        if r.referred_at is not None:
            referral.append((as_utc(r.referred_at) - created).total_seconds() / 3600)
    return HotlineStatistics(
        total=len(rows),
        months=tuple(months),
        by_category=by_category,
        by_status={s.value: by_status.get(s.value, 0) for s in Status},
        by_status_month=by_status_month,
        to_first_assessment=Duration.of(first),
        to_referral=Duration.of(referral),
    )
