"""Schemas of streamed conversations."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from groomwatch.conversation import Role
from groomwatch.server.schemas.common import FindingPublic, StepPublic, Strict

CONVERSATION_ID = r"^[A-Za-z0-9._:@~+=-]{1,200}$"


class MessageCreate(Strict):
    """A message to append. ``id`` is your own message id: a message whose ``id`` is already
    stored in the conversation is skipped, so a retried request does not add it twice."""

    text: str = Field(description="The message text (stored as evidence; never logged).")
    author: str | None = Field(default=None, max_length=200, description="Your user id.")
    time: str | None = Field(
        default=None, max_length=64, description="ISO 8601 time the message was sent."
    )
    id: str | None = Field(default=None, min_length=1, max_length=200)


class ParticipantCreate(Strict):
    """A participant of the conversation as your platform knows them. Declared roles are context
    for the tactic pattern: an adult using grooming tactics on a declared child weighs more."""

    id: str = Field(min_length=1, max_length=200, description="Your user id (as in `author`).")
    role: Role = Field(default=Role.UNKNOWN, description="`unknown`, `child` or `adult`.")
    age: int | None = Field(default=None, ge=0, le=130, description="Known or stated age.")


class MessagesAppend(Strict):
    """One message or a batch, in the order they were sent, and optionally the participants."""

    messages: list[MessageCreate] = Field(min_length=1)
    participants: list[ParticipantCreate] | None = Field(
        default=None,
        max_length=100,
        description=(
            "Participants (id, role, age), stored with the conversation. A later append may add "
            "participants or change one (same id); the change counts from its messages on."
        ),
    )

    @field_validator("participants")
    @classmethod
    def _distinct_ids(cls, value: list[ParticipantCreate] | None) -> list[ParticipantCreate] | None:
        if value is not None and len({p.id for p in value}) != len(value):
            raise ValueError("participant ids must be distinct")
        return value


class AppendPublic(BaseModel):
    """The conversation after the append."""

    id: str = Field(description="The conversation id.")
    message_count: int = Field(description="Messages stored in the conversation.")
    accepted: int = Field(description="Messages of this request that were appended.")
    duplicates: int = Field(description="Messages skipped because their id was already stored.")
    risk: float = Field(ge=0, le=1, description="The conversation's risk after the append.")
    alert: bool = Field(description="Whether the risk is at or above the alert threshold now.")
    fired: bool = Field(description="Whether this append fired the early warning.")
    first_alert: int | None = Field(
        description="Index of the message at which the early warning first fired, or null."
    )
    suspect: str | None = Field(description="The author most likely grooming, or null.")
    findings: list[FindingPublic] = Field(description="Findings in the appended messages.")
    review: str | None = Field(description="The review item queued when the warning fired.")
    steps: list[StepPublic] = Field(
        description="Protective steps, once the warning has fired (else empty)."
    )


class RiskPoint(BaseModel):
    message: int
    risk: float


class ReviewRef(BaseModel):
    id: str
    status: str


class StoredMessagePublic(BaseModel):
    id: str | None
    author: str | None
    text: str
    time: str | None


class ConversationPublic(BaseModel):
    """The state and risk history of a streamed conversation."""

    id: str
    message_count: int
    risk: float
    alert: bool
    first_alert: int | None
    suspect: str | None
    created_at: datetime
    updated_at: datetime
    history: list[RiskPoint] = Field(description="The risk after each message.")
    findings: list[FindingPublic]
    review: ReviewRef | None
    messages: list[StoredMessagePublic] | None = Field(
        default=None, description="The stored messages, with ?include_messages=true."
    )
