"""Routes: assessments. Score a whole conversation at once (stateless: nothing is stored)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from groomwatch.conversation import Conversation
from groomwatch.errors import RecordError
from groomwatch.server import metrics
from groomwatch.server.deps import DetectorDep, SettingsDep, TenantDep
from groomwatch.server.schemas.assessments import AssessmentCreate, AssessmentPublic
from groomwatch.server.streaming import platform_steps, tenant_policy

router = APIRouter(prefix="/v1/assessments", tags=["assessments"])


@router.post(
    "",
    response_model=AssessmentPublic,
    summary="Assess a whole conversation",
    responses={401: {"description": "Missing or invalid API key"}},
)
async def create_assessment(
    body: AssessmentCreate, tenant: TenantDep, detector: DetectorDep, settings: SettingsDep
) -> dict[str, Any]:
    """The scan contract for one conversation: its risk, whether it is flagged under your
    threshold, the message where the early warning fires when it is read message by message, the
    likely suspect, and the findings with their evidence. Nothing is stored."""
    try:
        conversation = Conversation.from_dict(body.conversation)
    except RecordError as exc:
        raise RecordError(exc.reason, field=_prefixed(exc.field)) from None
    limit = settings.api_max_message_chars
    for i, m in enumerate(conversation.messages):
        if len(m.text) > limit:
            raise RecordError(
                f"longer than {limit} characters", field=f"conversation.messages[{i}].text"
            )
    policy = tenant_policy(detector, tenant)
    assessment = await run_in_threadpool(detector.assess, conversation, policy)
    out: dict[str, Any] = assessment.to_dict()
    out["policy"] = policy.to_dict()
    alerted = out.get("flagged") or out.get("first_alert") is not None
    out["steps"] = list(platform_steps()) if alerted else []
    metrics.ASSESSMENTS.inc()
    return out


def _prefixed(field: str | None) -> str:
    return f"conversation.{field}" if field else "conversation"
