"""Schemas of the human-review queue."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from groomwatch.server.schemas.common import Strict

ReviewStatus = Literal["pending", "confirmed", "dismissed"]


class ReviewPublic(BaseModel):
    """An alert queued for a human reviewer."""

    id: str
    conversation: str = Field(description="The conversation id.")
    message: int = Field(description="The message at which the early warning fired.")
    risk: float
    suspect: str | None
    tactics: list[str]
    status: ReviewStatus
    note: str | None
    reviewer: str | None
    created_at: datetime
    decided_at: datetime | None


class ReviewsPublic(BaseModel):
    data: list[ReviewPublic]
    count: int = Field(description="Items in this page.")


class ReviewDecisionCreate(Strict):
    """A reviewer's decision. groomwatch records it; what follows is the platform's call."""

    decision: Literal["confirmed", "dismissed"]
    note: str | None = Field(default=None, max_length=5000)
    reviewer: str | None = Field(
        default=None, max_length=200, description="Who decided (your reviewer id)."
    )
