"""The fast path of the service's hot request: ``POST /v1/conversations/{id}/messages``.

A platform sends every chat message as it happens, so this one request is most of the service's
load (the target: 500 appends a second on two cores, p99 <= 20 ms). Through FastAPI, the routing,
the dependency tree (API key, settings, detector), the parameter and body machinery and the
response model cost about as much CPU as the append itself. :class:`AppendFastPath` is a pure
ASGI middleware, inside the service's own middleware (request id, access log, metrics, security
headers, body limit), that serves the *well-formed, authorised* append directly: it checks the
conversation id and the ``Idempotency-Key`` as the route declares them, validates the body with
the route's own schema (:class:`~groomwatch.server.schemas.conversations.MessagesAppend`),
authenticates the key and takes a rate-limit token exactly like
:func:`~groomwatch.server.deps.get_tenant`, runs
:func:`~groomwatch.server.streaming.append_messages` and writes the answer as the route's
``response_model`` would.

Everything else goes to the FastAPI route, unchanged: the request is handed on with its body
replayed, before anything was written or any rate-limit token taken. So every error answer (401,
429, 422 naming the field, 409, 503) is the route's own, the OpenAPI contract is the route's, and
the route stays a complete implementation (this middleware can be left out and nothing changes but
the speed). An append that fails inside (an ``Idempotency-Key`` reused with another body, a
stored detector state that cannot be restored) has been rolled back, and is handed on too, so the
route gives the answer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from groomwatch.errors import InputError
from groomwatch.server.routes.conversations import (
    APPEND_PATH,
    append_body,
)
from groomwatch.server.schemas.conversations import CONVERSATION_ID, MessagesAppend
from groomwatch.server.streaming import IdempotencyConflict

_PATH = re.compile(r"/v1/conversations/([^/]+)/messages")
_ID = re.compile(CONVERSATION_ID)
_JSON_HEADERS = [(b"content-type", b"application/json")]


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The first value of each header (as Starlette's ``Headers.get``)."""
    out: dict[bytes, bytes] = {}
    for key, value in scope["headers"]:
        out.setdefault(key, value)
    return out


@dataclass(frozen=True)
class _RouteLabel:
    """What the access log and the metrics read of ``scope["route"]``: its path template. (The
    route object itself sits inside an included router, not in ``app.routes``.)"""

    path: str


_APPEND_ROUTE = _RouteLabel(APPEND_PATH)


class AppendFastPath:
    """Serve well-formed, authorised appends directly; hand everything else on (see above)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        match = _PATH.fullmatch(scope["path"])
        if match is None or not _ID.match(match.group(1)):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if content_type != b"application/json":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if await self._serve(scope, headers, match.group(1), body, send):
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _serve(
        self, scope: Scope, headers: dict[bytes, bytes], external_id: str, raw: bytes, send: Send
    ) -> bool:
        """Append and answer; False (having written nothing) when the route must answer."""
        app = scope["app"]
        state = app.state
        settings = state.settings
        key = headers.get(b"idempotency-key")
        idempotency_key = None if key is None else key.decode("latin-1")
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
            return False
        try:
            body = MessagesAppend.model_validate(json.loads(raw))
        except (ValueError, ValidationError):  # JSONDecodeError and UnicodeDecodeError included
            return False
        if len(body.messages) > settings.api_max_messages_per_append:
            return False
        max_chars = settings.api_max_message_chars
        if any(len(m.text) > max_chars for m in body.messages):
            return False
        detector = getattr(state, "detector", None)
        if detector is None:
            return False
        tenant = self._tenant(state, headers)
        if tenant is None:
            return False
        scope["route"] = _APPEND_ROUTE  # the access log's and the metrics' route template
        scope.setdefault("state", {})["tenant"] = tenant.name
        try:
            content = await append_body(state, detector, tenant, external_id, body, idempotency_key)
        except (IdempotencyConflict, InputError):
            return False  # rolled back: the route answers (409, 422)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*_JSON_HEADERS, (b"content-length", str(len(content)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": content})
        return True

    @staticmethod
    def _tenant(state: Any, headers: dict[bytes, bytes]) -> Any:
        """The tenant of a valid key within its rate, as :func:`get_tenant` finds it; None when
        the route must answer (no or bad key: 401; over the rate: 429, no token taken)."""
        raw = headers.get(b"authorization")
        if raw is None:
            return None
        scheme, _, credentials = raw.decode("latin-1").partition(" ")
        credentials = credentials.strip()
        if scheme.lower() != "bearer" or not credentials:
            return None
        tenant = state.tenant_cache.authenticate(state.session_factory, credentials)
        if tenant is None:
            return None
        if not state.rate_limiter.take(credentials[:17], rate=tenant.rate_limit).allowed:
            return None
        return tenant
