"""Routes: reviews. Alerts queued for a human reviewer, and the reviewer's decision."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from sqlalchemy import select, update

from groomwatch.server.deps import SessionDep, TenantDep
from groomwatch.server.models import Review, Tenant, utcnow
from groomwatch.server.schemas.reviews import (
    ReviewDecisionCreate,
    ReviewPublic,
    ReviewsPublic,
    ReviewStatus,
)
from groomwatch.server.streaming import as_utc
from groomwatch.server.transactions import write_transaction

router = APIRouter(prefix="/v1/reviews", tags=["reviews"])

ReviewId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]


def _public(r: Review) -> ReviewPublic:
    return ReviewPublic(
        id=r.id,
        conversation=r.external_id,
        message=r.message,
        risk=round(r.risk, 4),
        suspect=r.suspect,
        tactics=list(r.tactics),
        status=r.status,
        note=r.note,
        reviewer=r.reviewer,
        created_at=datetime.fromisoformat(as_utc(r.created_at) or ""),
        decided_at=datetime.fromisoformat(d) if (d := as_utc(r.decided_at)) else None,
    )


def _get(session: SessionDep, tenant: Tenant, review_id: str) -> Review:
    review = session.scalar(
        select(Review).where(Review.id == review_id, Review.tenant_id == tenant.id)
    )
    if review is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="review not found")
    return review


@router.get("", response_model=ReviewsPublic, summary="The review queue")
def list_reviews(
    tenant: TenantDep,
    session: SessionDep,
    status_: Annotated[ReviewStatus | None, Query(alias="status")] = "pending",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    after: Annotated[
        str | None,
        Query(pattern=r"^[0-9a-f]{32}$", description="Id of the last item of the previous page."),
    ] = None,
) -> ReviewsPublic:
    """Alerts in the order they fired, oldest first (``status=pending`` by default)."""
    query = select(Review).where(Review.tenant_id == tenant.id)
    if status_ is not None:
        query = query.where(Review.status == status_)
    if after is not None:
        anchor = _get(session, tenant, after)
        query = query.where(
            (Review.created_at > anchor.created_at)
            | ((Review.created_at == anchor.created_at) & (Review.id > anchor.id))
        )
    rows = session.scalars(query.order_by(Review.created_at, Review.id).limit(limit)).all()
    return ReviewsPublic(data=[_public(r) for r in rows], count=len(rows))


@router.get("/{review_id}", response_model=ReviewPublic, summary="One review item")
def read_review(review_id: ReviewId, tenant: TenantDep, session: SessionDep) -> ReviewPublic:
    return _public(_get(session, tenant, review_id))


@router.post(
    "/{review_id}/decision",
    response_model=ReviewPublic,
    summary="Record a reviewer's decision",
    responses={409: {"description": "Already decided"}},
)
def decide(
    review_id: ReviewId, body: ReviewDecisionCreate, tenant: TenantDep, session: SessionDep
) -> ReviewPublic:
    """Record ``confirmed`` or ``dismissed`` with an optional note. A decision is final: a second
    one is refused with 409. groomwatch takes no action on it; it is your reviewers' record."""
    review = _get(session, tenant, review_id)
    # One atomic conditional update, so two reviewers deciding at once cannot both succeed.
    with write_transaction(session):
        decided = session.execute(
            update(Review)
            .where(Review.id == review.id, Review.status == "pending")
            .values(
                status=body.decision, note=body.note, reviewer=body.reviewer, decided_at=utcnow()
            )
            .execution_options(synchronize_session=False)
        )
        session.commit()
    session.refresh(review)
    if decided.rowcount != 1:  # type: ignore[attr-defined]
        raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail=f"already {review.status}")
    return _public(review)
