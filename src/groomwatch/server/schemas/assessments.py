"""Schemas of whole-conversation assessments."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from groomwatch.server.schemas.common import StepPublic, Strict


class AssessmentCreate(Strict):
    conversation: dict[str, Any] = Field(
        description=(
            "A canonical conversation: {id, platform?, label?, participants?: [{id, role, age}], "
            "messages: [{author, text, time}]}."
        ),
        examples=[
            {
                "id": "c1",
                "messages": [
                    {"author": "u1", "text": "hi, how was school?", "time": None},
                    {"author": "u2", "text": "ok", "time": None},
                ],
            }
        ],
    )


class AssessmentPublic(BaseModel):
    """The scan contract of DESIGN.md, plus the policy in force and the protective steps."""

    id: str
    risk: float = Field(ge=0, le=1)
    flagged: bool = Field(description="risk at or above the tenant's threshold")
    first_alert: int | None
    suspect: str | None
    tactics: list[dict[str, Any]] = Field(description="Findings: tactic, message, score, evidence")
    policy: dict[str, Any]
    steps: list[StepPublic] = Field(
        description="Protective steps when flagged or the early warning fired (else empty)."
    )
    model_config = {"extra": "allow"}
