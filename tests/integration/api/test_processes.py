"""Real server processes: several processes on one database, and a crash mid-stream.

These start ``groomwatch serve`` as subprocesses (``slow``); the tenants' threshold is 0 so every
conversation fires its early warning, which makes "exactly one alert per conversation" a check
that concurrent or replayed appends never fire it twice."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from groomwatch.conversation import Message
from groomwatch.db import create_db_engine, make_session_factory, upgrade_database
from groomwatch.server.models import Review, StoredMessage, StreamedConversation, WebhookEvent
from groomwatch.server.tenants import get_tenant_by_name

pytestmark = pytest.mark.slow


def _setup(url: str, kit: Any, receiver: Any) -> str:
    upgrade_database(url)
    key: str = kit.make_tenants(url, ("acme",))["acme"]
    engine = create_db_engine(url)
    with make_session_factory(engine)() as session:
        tenant = get_tenant_by_name(session, "acme")
        tenant.threshold, tenant.window, tenant.min_messages = 0.0, 1, 1
        tenant.webhook_url, tenant.webhook_secret = receiver.url, receiver.secret
        session.commit()
    engine.dispose()
    return key


def _stored(url: str) -> dict[str, Any]:
    engine = create_db_engine(url)
    try:
        with make_session_factory(engine)() as session:
            out: dict[str, Any] = {}
            for conv in session.scalars(select(StreamedConversation)):
                msgs = session.execute(
                    select(
                        StoredMessage.position,
                        StoredMessage.client_id,
                        StoredMessage.text,
                        StoredMessage.author,
                    )
                    .where(StoredMessage.conversation_id == conv.id)
                    .order_by(StoredMessage.position)
                ).all()
                reviews = session.scalars(
                    select(Review.id).where(Review.conversation_id == conv.id)
                ).all()
                events = session.scalars(
                    select(WebhookEvent.id).where(WebhookEvent.conversation_id == conv.id)
                ).all()
                out[conv.external_id] = {
                    "count": conv.message_count,
                    "risk": conv.risk,
                    "first_alert": conv.first_alert,
                    "positions": [m.position for m in msgs],
                    "ids": [m.client_id for m in msgs],
                    "messages": [(m.author, m.text) for m in msgs],
                    "reviews": list(reviews),
                    "events": list(events),
                }
            return out
    finally:
        engine.dispose()


def _check_replay(detector: Any, state: dict[str, Any]) -> None:
    """The stored risk is what a fresh monitor gives on the stored messages in stored order: no
    append was applied to a stale state."""
    policy = detector.default_policy.with_threshold(0.0)
    policy = type(policy).from_dict({**policy.to_dict(), "window": 1, "min_messages": 1})
    monitor = detector.monitor(policy)
    update = None
    for author, text in state["messages"]:
        update = monitor.update(Message(text=text, author=author))
    assert update is not None
    assert state["risk"] == pytest.approx(update.risk, abs=1e-9)
    assert state["first_alert"] == update.first_alert == 0


def test_two_processes_on_one_database_lose_and_double_nothing(
    database_url: str, server_factory: Any, webhook_receiver: Any, kit: Any, detector: Any
) -> None:
    """Horizontal scale: two processes share one PostgreSQL (row lock), or one SQLite file (the
    writer lock file, as ``serve --workers N``); appends to the same conversations arrive
    interleaved at both, concurrently."""
    key = _setup(database_url, kit, webhook_receiver)
    servers = [server_factory(database_url), server_factory(database_url)]
    for s in servers:
        s.start()
    n_convs = 8
    work = [
        (f"conv-{c}", {**m, "id": f"c{c}-m{i}"})
        for c in range(n_convs)
        for i, m in enumerate(kit.messages(kit.grooming))
    ]
    random.Random(7).shuffle(work)
    auth = {"Authorization": f"Bearer {key}"}
    local = threading.local()
    opened: list[httpx.Client] = []

    def send(i: int) -> int:
        if not hasattr(local, "clients"):
            local.clients = [
                httpx.Client(base_url=s.url, headers=auth, timeout=90) for s in servers
            ]
            opened.extend(local.clients)
        cid, message = work[i]
        client = local.clients[i % 2]  # alternate processes: a conversation's appends interleave
        r = client.post(f"/v1/conversations/{cid}/messages", json={"messages": [message]})
        return r.status_code

    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            codes = list(pool.map(send, range(len(work))))
    finally:
        for client in opened:
            client.close()
    assert codes == [200] * len(work), sorted(set(codes))

    stored = _stored(database_url)
    assert sorted(stored) == sorted(f"conv-{c}" for c in range(n_convs))
    for cid, state in stored.items():
        c = cid.split("-")[1]
        assert state["count"] == len(kit.grooming), cid
        assert state["positions"] == list(range(len(kit.grooming)))
        assert sorted(state["ids"]) == sorted(f"c{c}-m{i}" for i in range(len(kit.grooming)))
        assert len(state["reviews"]) == 1, cid
        assert len(state["events"]) == 1, cid
        _check_replay(detector, state)
    events = webhook_receiver.wait_for(n_convs, timeout=60)
    assert sorted(e["data"]["conversation"] for e in events) == sorted(stored)


def test_sigkill_mid_stream_loses_no_acknowledged_message_or_alert(
    database_url: str, server_factory: Any, webhook_receiver: Any, kit: Any, detector: Any
) -> None:
    key = _setup(database_url, kit, webhook_receiver)
    webhook_receiver.fail_always = True  # alerts stay in the outbox until after the crash
    server = server_factory(database_url)
    server.start()
    auth = {"Authorization": f"Bearer {key}"}
    n_convs = 6
    msgs = {f"k{c}": kit.messages(kit.grooming, ids=f"k{c}") for c in range(n_convs)}
    acknowledged: dict[str, list[str]] = {cid: [] for cid in msgs}
    fired_before: set[str] = set()
    total = threading.Semaphore(0)

    def stream(cid: str) -> None:
        with httpx.Client(base_url=server.url, headers=auth, timeout=10) as client:
            for m in msgs[cid]:
                try:
                    r = client.post(f"/v1/conversations/{cid}/messages", json={"messages": [m]})
                except httpx.HTTPError:
                    return  # the server died: this message was not acknowledged
                if r.status_code != 200:
                    return
                acknowledged[cid].append(m["id"])
                if r.json()["fired"]:
                    fired_before.add(cid)
                total.release()
                time.sleep(0.01)

    threads = [threading.Thread(target=stream, args=(cid,)) for cid in msgs]
    for t in threads:
        t.start()
    for _ in range(25):  # about a third of the messages, then kill -9 while requests fly
        assert total.acquire(timeout=60)
    server.kill()
    for t in threads:
        t.join(30)
    assert sum(len(v) for v in acknowledged.values()) < n_convs * len(kit.grooming)
    assert fired_before  # alerts were acknowledged (and left undelivered) before the crash
    assert webhook_receiver.events == []

    stored = _stored(database_url)
    for cid, ids in acknowledged.items():
        if ids:
            assert stored[cid]["ids"][: len(ids)] == ids, cid  # every acknowledged message kept
    for cid in fired_before:
        assert len(stored[cid]["reviews"]) == 1
        assert len(stored[cid]["events"]) == 1

    webhook_receiver.fail_always = False
    server.start()
    with httpx.Client(base_url=server.url, headers=auth, timeout=10) as client:
        for cid, batch in msgs.items():  # the platform retries everything it was not sure of
            r = client.post(f"/v1/conversations/{cid}/messages", json={"messages": batch})
            assert r.status_code == 200
            assert r.json()["message_count"] == len(kit.grooming)
            assert r.json()["duplicates"] == len(stored.get(cid, {}).get("ids", []))
    final = _stored(database_url)
    for cid in msgs:
        assert final[cid]["ids"] == [m["id"] for m in msgs[cid]]
        assert len(final[cid]["reviews"]) == 1, cid
        assert len(final[cid]["events"]) == 1, cid
        _check_replay(detector, final[cid])
    events = webhook_receiver.wait_for(n_convs, timeout=60)
    assert sorted(e["data"]["conversation"] for e in events) == sorted(msgs)
