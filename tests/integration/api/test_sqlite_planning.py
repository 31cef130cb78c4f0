"""SQLite appends are planned before the write lock and written only if the conversation has not
moved on meanwhile; otherwise planned again under the lock. Interleaved here by hand, in the
order two processes could take: the result must be the sequential one.

Synthetic messages only (the conftest's neutral-words conversations)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY
from sqlalchemy import select

from groomwatch.conversation import Message
from groomwatch.db import create_db_engine, make_session_factory, upgrade_database
from groomwatch.server import streaming
from groomwatch.server.models import StoredMessage, StreamedConversation
from groomwatch.server.streaming import AppendStore, IncomingMessage, MonitorCache, append_messages
from groomwatch.server.tenants import get_tenant_by_name


def _replanned() -> float:
    return REGISTRY.get_sample_value("groomwatch_appends_replanned_total") or 0.0


def _incoming(kit: Any, i: int) -> list[IncomingMessage]:
    author, text = kit.grooming[i]
    return [IncomingMessage(text=text, author=author, client_id=f"m{i}")]


def test_a_plan_overtaken_by_another_append_is_made_again(
    tmp_path: Path, kit: Any, detector: Any
) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    upgrade_database(url)
    kit.make_tenants(url, ("acme",))
    engine = create_db_engine(url)
    factory = make_session_factory(engine)
    store = AppendStore(engine)
    try:
        with factory() as session:
            tenant = get_tenant_by_name(session, "acme")
            session.expunge(tenant)
        mine, theirs = MonitorCache(16), MonitorCache(16)  # two processes' caches
        append_messages(store, detector, tenant, "c", _incoming(kit, 0), cache=mine)
        with store.connections.connection() as db:  # a new conversation is created under the lock
            plan = streaming._plan_before_lock(store, db, detector, tenant, "n", [], [], mine)
            assert plan is None

        with store.connections.connection() as a:
            planned = streaming._plan_before_lock(
                store, a, detector, tenant, "c", _incoming(kit, 1), [], mine
            )
            assert planned is not None
            assert planned.conv.message_count == 1
            # the other process appends message 2 while this one waits for the lock
            append_messages(store, detector, tenant, "c", _incoming(kit, 2), cache=theirs)
            before = _replanned()
            result = streaming._write_planned(
                store, a, detector, tenant, "c", _incoming(kit, 1), [], mine, planned
            )
            assert _replanned() == before + 1

        assert result.message_count == 3
        with factory() as session:
            conv = session.scalars(select(StreamedConversation)).one()
            rows = session.execute(
                select(StoredMessage.position, StoredMessage.client_id, StoredMessage.risk)
                .where(StoredMessage.conversation_id == conv.id)
                .order_by(StoredMessage.position)
            ).all()
        assert [(r.position, r.client_id) for r in rows] == [(0, "m0"), (1, "m2"), (2, "m1")]
        monitor = detector.monitor(detector.default_policy)
        for i in (0, 2, 1):  # the stored order: the replanned append saw message 2
            author, text = kit.grooming[i]
            update = monitor.update(Message(text=text, author=author))
        assert conv.risk == update.risk == result.risk
        assert [r.risk for r in rows][-1] == update.risk

        with store.connections.connection() as a:  # not overtaken: written as made, once
            planned = streaming._plan_before_lock(
                store, a, detector, tenant, "c", _incoming(kit, 3), [], mine
            )
            assert planned is not None
            before = _replanned()
            result = streaming._write_planned(
                store, a, detector, tenant, "c", _incoming(kit, 3), [], mine, planned
            )
            assert _replanned() == before
        assert result.message_count == 4
    finally:
        store.close()
        engine.dispose()
