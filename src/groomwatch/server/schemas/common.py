"""Schemas shared by several resources."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FindingPublic(BaseModel):
    """One piece of evidence: a tactic seen in a message, with the span that shows it."""

    tactic: str = Field(description="A tactic name from GET /v1/tactics.")
    message: int = Field(description="0-based index of the message in the conversation.")
    score: float = Field(ge=0, le=1)
    evidence: str = Field(description="The words in the message that show the tactic.")
    start: int = Field(description="Start of the evidence in the message text.")
    end: int = Field(description="End (exclusive) of the evidence in the message text.")


class StepPublic(BaseModel):
    """A protective step for the platform (preserve evidence, block the contact, report)."""

    key: str
    title: str
    text: str


class ErrorPublic(BaseModel):
    detail: str


class Strict(BaseModel):
    """Request bodies: unknown fields are refused, so that a misspelt field is a 422."""

    model_config = ConfigDict(extra="forbid")
