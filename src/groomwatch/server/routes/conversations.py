"""Routes: streamed conversations. Append messages as they are sent and get the early warning;
read a conversation's state and risk history; erase it.

The append is the hot path of the service (hundreds a second from one platform), so it is lean:
an ``async`` route whose dependencies are ``async`` too, that runs a small append (up to
:data:`INLINE_MESSAGES` messages, about a millisecond of work) on the event loop itself, and
writes its JSON answer directly. A FastAPI ``def`` route would hand every request to a worker
thread and back, and the hand-offs, and the worker threads' contention for the GIL, cost more than
the append; with several worker processes (``groomwatch serve --workers N``) the processes, not
threads, share the cores. A larger batch goes to the thread pool, so that one big append does not
hold up the other requests of its process. :mod:`groomwatch.server.fastpath` serves the
well-formed appends before FastAPI's routing, with the same functions; this route answers the
others (and every error).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from groomwatch.conversation import Participant
from groomwatch.detect.detector import Detector
from groomwatch.server.deps import DetectorDep, SessionDep, SettingsDep, TenantDep
from groomwatch.server.models import Tenant
from groomwatch.server.schemas.common import FindingPublic
from groomwatch.server.schemas.conversations import (
    CONVERSATION_ID,
    AppendPublic,
    ConversationPublic,
    MessagesAppend,
)
from groomwatch.server.streaming import (
    AppendResult,
    AppendStore,
    ConversationNotFound,
    IdempotencyConflict,
    IncomingMessage,
    MonitorCache,
    append_messages,
    check_limits,
    describe_conversation,
    erase_conversation,
)

router = APIRouter(prefix="/v1/conversations", tags=["conversations"])

ConversationId = Annotated[
    str, Path(pattern=CONVERSATION_ID, description="Your conversation id (1-200 characters).")
]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such conversation for this API key"}
}


APPEND_PATH = "/v1/conversations/{id}/messages"
INLINE_MESSAGES = 8
"""Appends of at most this many messages run on the event loop (see the module's text)."""

_FINDING_FIELDS = tuple(FindingPublic.model_fields)
_ANSWER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def run_append(
    store: AppendStore,
    detector: Any,
    tenant: Tenant,
    external_id: str,
    messages: Sequence[IncomingMessage],
    idempotency_key: str | None,
    participants: Sequence[Participant],
    cache: MonitorCache,
) -> AppendResult:
    return append_messages(
        store,
        detector,
        tenant,
        external_id,
        messages,
        idempotency_key=idempotency_key,
        participants=participants,
        cache=cache,
    )


def append_json(result: AppendResult) -> bytes:
    """The answer as :class:`AppendPublic` would serialise it (findings with its fields only),
    without validating our own output again."""
    out = result.to_dict()
    out["findings"] = [{k: f[k] for k in _FINDING_FIELDS} for f in out["findings"]]
    return _ANSWER.encode(out).encode()


def _not_found() -> HTTPException:
    return HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="conversation not found")


@router.post(
    "/{id}/messages",
    response_model=AppendPublic,
    summary="Append messages and get the updated risk",
    responses={
        409: {"description": "Idempotency-Key reused with a different body"},
        413: {"description": "Body too large"},
        429: {"description": "Rate limit exceeded (see Retry-After)"},
    },
)
async def append(
    request: Request,
    id: ConversationId,
    body: MessagesAppend,
    tenant: TenantDep,
    detector: DetectorDep,
    settings: SettingsDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=200,
            description="Makes a retried request safe: the same key returns the first answer.",
        ),
    ] = None,
) -> Response:
    """Append one message or a batch, in order. The conversation is created by its first append.
    The answer holds the risk after the last message, whether the early warning is on, the
    index of the message where it first fired, and the findings in the new messages. When the
    warning fires for the first time a review item is queued and your webhook is called."""
    if len(body.messages) > settings.api_max_messages_per_append:
        raise HTTPException(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=[
                {
                    "loc": ["body", "messages"],
                    "msg": f"at most {settings.api_max_messages_per_append} messages an append",
                    "type": "too_long",
                }
            ],
        )
    check_limits((m.text for m in body.messages), max_chars=settings.api_max_message_chars)
    try:
        content = await append_body(request.app.state, detector, tenant, id, body, idempotency_key)
    except IdempotencyConflict as exc:
        raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail=str(exc)) from None
    return Response(content, media_type="application/json")


async def append_body(
    state: Any,
    detector: Detector,
    tenant: Tenant,
    external_id: str,
    body: MessagesAppend,
    idempotency_key: str | None,
) -> bytes:
    """Append a validated body and return the answer's JSON: the one path of the route and of
    :mod:`groomwatch.server.fastpath`. Small appends run on the event loop (cheaper than a
    thread hand-off), larger ones in the thread pool. Raises :class:`IdempotencyConflict` and
    :class:`~groomwatch.errors.InputError` (rolled back)."""
    messages = [
        IncomingMessage(text=m.text, author=m.author, time=m.time, client_id=m.id)
        for m in body.messages
    ]
    participants = [Participant(id=p.id, role=p.role, age=p.age) for p in body.participants or ()]
    args = (
        state.append_store,
        detector,
        tenant,
        external_id,
        messages,
        idempotency_key,
        participants,
        state.monitor_cache,
    )
    if len(messages) <= INLINE_MESSAGES:
        result = run_append(*args)
    else:
        result = await run_in_threadpool(run_append, *args)
    return append_json(result)


@router.get(
    "/{id}",
    response_model=ConversationPublic,
    response_model_exclude_none=False,
    summary="A conversation's state and risk history",
    responses=_NOT_FOUND,
)
def read(
    id: ConversationId,
    tenant: TenantDep,
    session: SessionDep,
    include_messages: Annotated[
        bool, Query(description="Also return the stored messages (evidence).")
    ] = False,
) -> dict[str, Any]:
    try:
        return describe_conversation(session, tenant, id, include_messages=include_messages)
    except ConversationNotFound:
        raise _not_found() from None


@router.delete(
    "/{id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Erase a conversation",
    responses=_NOT_FOUND,
)
def erase(id: ConversationId, tenant: TenantDep, session: SessionDep) -> Response:
    """Erase the conversation: its messages, findings, detector state, review item and webhook
    events not yet delivered. This cannot be undone; a later append starts a new conversation."""
    try:
        erase_conversation(session, tenant, id)
    except ConversationNotFound:
        raise _not_found() from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)
