"""ASGI middleware of the service: one pure ASGI layer, :class:`ServiceMiddleware`, that does
what the service needs around every request, in this order (outermost first):

- a request id (the client's ``X-Request-ID`` if it is well formed, else a new one), echoed in the
  response; an access-log line without any text; request metrics (these see every answer,
  including the 413s below);
- security headers: a strict Content-Security-Policy fit for server-rendered pages with no inline
  scripts (``frame-ancestors 'none'``), ``nosniff``, no referrer, no caching of API answers;
- 413 for a body over the limit, by ``Content-Length`` or while streaming.

Why one layer: an append (hundreds a second) went through three, each wrapping ``send`` (and one
``receive``) in closures and copying the header list; one layer wraps each once and adds prebuilt
header lists (measured in ``benchmarks/bench_api_append.py``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from itertools import count
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from groomwatch.server import metrics
from groomwatch.server.logging import get_logger

_log = get_logger("access")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's /docs and /redoc pages load their scripts from a CDN and start them inline.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "<unmatched>"


class _RequestIds:
    """New request ids: 32 hex digits like a UUID's, a random per-process prefix and a counter.
    A request id only ties log lines and answers together; ``uuid4()`` reads the kernel's random
    source for each (~0.1 ms here, under load), a counter costs nothing. A forked child draws
    its own prefix."""

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._counter = count(1)

    def new(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"


_request_ids = _RequestIds()


def _security_headers(path_kind: str) -> list[tuple[bytes, bytes]]:
    csp = DOCS_CONTENT_SECURITY_POLICY if path_kind == "docs" else CONTENT_SECURITY_POLICY
    out: list[tuple[bytes, bytes]] = [
        (b"content-security-policy", csp.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    ]
    if path_kind == "api":
        out.append((b"cache-control", b"no-store"))
    return out


_SECURITY_HEADERS = {kind: _security_headers(kind) for kind in ("docs", "api", "other")}
_SECURITY_NAMES = {kind: {k for k, _ in v} for kind, v in _SECURITY_HEADERS.items()}
_QUIET_ROUTES = ("/metrics", "/healthz")  # no access-log line (scrapes and probes)


class BodyTooLarge(Exception):
    pass


class ServiceMiddleware:
    """Request id, access log and metrics; security headers; body size limit (see the module's
    text). ``limit_for(path)`` is the largest request body, in bytes, for a path."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path: str = scope["path"]
        given = ""
        declared: bytes | None = None
        for key, value in scope["headers"]:
            if key == b"x-request-id" and not given:
                given = value.decode("latin-1")
            elif key == b"content-length" and declared is None:
                declared = value
        request_id = given if given and _REQUEST_ID.fullmatch(given) else _request_ids.new()
        scope.setdefault("state", {})["request_id"] = request_id
        kind = (
            "docs" if path.startswith(DOCS_PATHS) else "api" if path.startswith("/v1/") else "other"
        )
        extra = [*_SECURITY_HEADERS[kind], (b"x-request-id", request_id.encode("latin-1"))]
        names = _SECURITY_NAMES[kind]
        status_code = 500
        response_started = False

        async def send_wrapped(message: Message) -> None:
            nonlocal status_code, response_started
            if message["type"] == "http.response.start":
                status_code = message["status"]
                response_started = True
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers} & names
                if present:  # the application set some itself: its own values stay
                    headers.extend((k, v) for k, v in extra if k not in present)
                else:
                    headers.extend(extra)
                message["headers"] = headers
            await send(message)

        max_bytes = self.limit_for(path)
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise BodyTooLarge
            return message

        try:
            too_large = False
            if declared is not None:
                try:
                    too_large = int(declared) > max_bytes
                except ValueError:
                    too_large = False
            if too_large:
                await _refuse(send_wrapped, max_bytes)
            else:
                try:
                    await self.app(scope, limited_receive, send_wrapped)
                except BodyTooLarge:
                    if not response_started:
                        await _refuse(send_wrapped, max_bytes)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            metrics.observe_request(scope["method"], route, status_code, elapsed)
            if route not in _QUIET_ROUTES and _log.isEnabledFor(logging.INFO):
                # One record, made directly: Logger.info would also look for the caller's
                # source line on every request, which the JSON line does not show.
                record = _log.makeRecord(
                    _log.name,
                    logging.INFO,
                    __file__,
                    0,
                    "request",
                    (),
                    None,
                    extra={
                        "request_id": request_id,
                        "method": scope["method"],
                        "route": route,
                        "status": status_code,
                        "ms": round(elapsed * 1000, 2),
                        "tenant": scope["state"].get("tenant"),
                    },
                )
                _log.handle(record)


async def _refuse(send: Send, max_bytes: int) -> None:
    body = json.dumps({"detail": f"request body larger than {max_bytes} bytes"}).encode()
    headers: Iterable[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    start: dict[str, Any] = {"type": "http.response.start", "status": 413, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body})
