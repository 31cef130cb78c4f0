"""The append's fast path (:mod:`groomwatch.server.fastpath`) answers exactly as the FastAPI route
does, and hands every request it does not serve to the route with its body intact.

Synthetic conversations only (the conftest's neutral-words grooming chat and an ordinary chat)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from groomwatch.db import upgrade_database
from groomwatch.server.app import create_app
from groomwatch.server.fastpath import AppendFastPath
from groomwatch.server.tenants import get_tenant_by_name


def _app(url: str, tmp_path: Path, kit: Any, detector: Any, threshold: float) -> tuple[Any, str]:
    upgrade_database(url)
    key = kit.make_tenants(url, ("acme",))["acme"]
    app = create_app(kit.settings(url, tmp_path), detector=detector)
    with app.state.session_factory() as session:
        tenant = get_tenant_by_name(session, "acme")
        tenant.threshold, tenant.window, tenant.min_messages = threshold, 1, 1
        session.commit()
    return app, key


@pytest.fixture
def two_apps(
    tmp_path: Path, kit: Any, detector: Any, alert_threshold: float
) -> Iterator[tuple[TestClient, TestClient, dict[str, str]]]:
    """The service with its fast path, and the same service without it (FastAPI's route alone),
    each on its own SQLite file."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    fast, key_a = _app(f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "a", kit, detector, 0.0)
    plain, key_b = _app(f"sqlite:///{tmp_path / 'b.db'}", tmp_path / "b", kit, detector, 0.0)
    plain.user_middleware = [m for m in plain.user_middleware if m.cls is not AppendFastPath]
    for app in (fast, plain):
        with app.state.session_factory() as session:
            get_tenant_by_name(session, "acme").threshold = alert_threshold
            session.commit()
    with TestClient(fast) as a, TestClient(plain) as b:
        yield a, b, {"a": key_a, "b": key_b}


def _comparable(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "review": None if body.get("review") is None else "<review id>"}


def test_the_fast_path_answers_as_the_route(
    two_apps: tuple[TestClient, TestClient, dict[str, str]], kit: Any
) -> None:
    a, b, keys = two_apps
    grooming = kit.messages(kit.grooming, ids="g")
    requests: list[tuple[str, dict[str, Any], dict[str, str]]] = [
        ("g1", {"messages": grooming[:1]}, {}),
        ("g1", {"messages": grooming[1:2]}, {"Idempotency-Key": "k-1"}),
        ("g1", {"messages": grooming[1:2]}, {"Idempotency-Key": "k-1"}),  # replayed answer
        ("g1", {"messages": grooming[:3]}, {}),  # two duplicates by client id, one new
        ("g1", {"messages": grooming[3:]}, {}),  # a batch over INLINE_MESSAGES: thread pool
        ("g1", {"messages": grooming[:1]}, {}),  # after the alert: steps in the answer
        (
            "o1",
            {
                "messages": kit.messages(kit.ordinary),
                "participants": [{"id": "amy", "role": "child", "age": 12}],
            },
            {},
        ),
    ]
    fired = 0
    for cid, body, headers in requests:
        ra = a.post(
            f"/v1/conversations/{cid}/messages",
            json=body,
            headers={"Authorization": f"Bearer {keys['a']}", **headers},
        )
        rb = b.post(
            f"/v1/conversations/{cid}/messages",
            json=body,
            headers={"Authorization": f"Bearer {keys['b']}", **headers},
        )
        assert ra.status_code == rb.status_code == 200
        assert ra.headers["content-type"] == rb.headers["content-type"] == "application/json"
        assert ra.headers["cache-control"] == "no-store"  # the service's headers still apply
        assert "x-request-id" in ra.headers
        assert _comparable(ra.json()) == _comparable(rb.json())
        fired += ra.json()["fired"]
    assert fired == 1
    assert (
        a.get("/v1/conversations/g1", headers={"Authorization": f"Bearer {keys['a']}"}).json()[
            "history"
        ]
        == b.get("/v1/conversations/g1", headers={"Authorization": f"Bearer {keys['b']}"}).json()[
            "history"
        ]
    )


class _Route:
    """The application behind the fast path in these tests: records what reached it."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        self.bodies.append(body)
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def _call(
    app: FastAPI, route: _Route, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, bytes]:
    fast = AppendFastPath(route)
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": raw,
        "app": app,
        "state": {},
    }
    sent: list[dict[str, Any]] = []
    chunks = [body[: len(body) // 2], body[len(body) // 2 :]]  # the body arrives in two parts

    async def receive() -> dict[str, Any]:
        if chunks:
            part = chunks.pop(0)
            return {"type": "http.request", "body": part, "more_body": bool(chunks)}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    # In a thread of its own: a browser test's Playwright session may keep an event loop
    # running in this thread for the rest of the run.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, fast(scope, receive, send)).result()
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_what_the_fast_path_does_not_serve_reaches_the_route_with_its_body(
    tmp_path: Path, kit: Any, detector: Any
) -> None:
    app, key = _app(f"sqlite:///{tmp_path / 'c.db'}", tmp_path, kit, detector, 1.0)
    good = json.dumps({"messages": kit.messages(kit.ordinary[:1], ids="x")}).encode()
    json_type = {"Content-Type": "application/json"}
    auth = {"Authorization": f"Bearer {key}", **json_type}
    path = "/v1/conversations/c1/messages"
    handed_on = [
        (path, good, json_type),  # no key: 401 from the route
        (path, good, {"Authorization": f"Bearer {key}x", **json_type}),  # bad key
        (path, good, {"Authorization": f"Basic {key}", **json_type}),  # not a bearer key
        (path, good, {"Authorization": f"Bearer {key}"}),  # no content type
        (path, b'{"messages": [', auth),  # not JSON
        (path, b'{"messages": [{"text": "hi", "colour": "red"}]}', auth),  # unknown field
        (path, b'{"messages": []}', auth),  # no message
        ("/v1/conversations/c%201/messages", good, auth),  # an id the route refuses
        (path, good, {**auth, "Idempotency-Key": "k" * 201}),
        ("/v1/conversations/c1/messages/x", good, auth),  # not the append
    ]
    for p, body, headers in handed_on:
        route = _Route()
        status, _ = _call(app, route, p, body, headers)
        assert (status, route.bodies) == (299, [body]), (p, body, headers)

    route = _Route()
    status, answer = _call(app, route, path, good, auth)
    assert (status, route.bodies) == (200, [])
    assert json.loads(answer)["message_count"] == 1

    route = _Route()  # the same Idempotency-Key with another body: the route answers 409
    _call(app, route, path, good, {**auth, "Idempotency-Key": "same"})
    other = json.dumps({"messages": kit.messages(kit.ordinary[1:2], ids="y")}).encode()
    status, _ = _call(app, route, path, other, {**auth, "Idempotency-Key": "same"})
    assert (status, route.bodies) == (299, [other])
