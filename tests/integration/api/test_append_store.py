"""The append's own SQL on the driver's connection (``AppendStore``, ``RawConnections``): what it
writes must read back through the ORM exactly like rows the ORM wrote (types, SQLite's date-time
text, JSON), its connections must recover from a broken one, and the per-process detector cache
keeps one entry per conversation.

Synthetic messages only (the conftest's neutral-words conversations)."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select, text

from groomwatch.conversation import Message
from groomwatch.db import create_db_engine, make_session_factory, upgrade_database
from groomwatch.db.raw import RawConnections, pyformat
from groomwatch.server import streaming
from groomwatch.server.models import (
    Review,
    StoredFinding,
    StoredMessage,
    StreamedConversation,
    Tenant,
    WebhookEvent,
)
from groomwatch.server.streaming import (
    AppendStore,
    IncomingMessage,
    MonitorCache,
    append_messages,
    erase_idle,
)
from groomwatch.server.tenants import get_tenant_by_name

# SQLAlchemy's text form of a SQLite DATETIME (what the ORM writes and parses back).
_SQLITE_DATETIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")


def test_rows_written_by_the_append_read_back_through_the_orm(
    api: Any, kit: Any, webhook_receiver: Any
) -> None:
    api.set_tenant("acme", webhook_url=webhook_receiver.url, webhook_secret=webhook_receiver.secret)
    sent = kit.messages(kit.grooming, ids="g")
    body = {"messages": sent, "participants": [{"id": "kid1", "role": "child", "age": 13}]}
    r = api.client.post("/v1/conversations/orm-1/messages", json=body, headers=api.auth())
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["fired"] is True

    with api.session_factory() as session:
        conv = session.scalars(
            select(StreamedConversation).where(StreamedConversation.external_id == "orm-1")
        ).one()
        assert isinstance(conv.created_at, datetime)
        assert isinstance(conv.updated_at, datetime)
        assert conv.updated_at >= conv.created_at
        assert conv.version == 1
        assert conv.message_count == len(sent)
        assert conv.alert is True
        assert conv.first_alert == answer["first_alert"]
        assert round(conv.risk, 4) == answer["risk"]
        assert conv.participants == [{"id": "kid1", "role": "child", "age": 13}]
        assert isinstance(conv.state, dict)
        assert conv.state["n_messages"] == len(sent)

        rows = session.scalars(
            select(StoredMessage)
            .where(StoredMessage.conversation_id == conv.id)
            .order_by(StoredMessage.position)
        ).all()
        assert [(m.position, m.client_id, m.author, m.text) for m in rows] == [
            (i, m["id"], m["author"], m["text"]) for i, m in enumerate(sent)
        ]
        assert all(isinstance(m.received_at, datetime) for m in rows)
        assert round(rows[-1].risk, 4) == answer["risk"]

        findings = session.scalars(
            select(StoredFinding).where(StoredFinding.conversation_id == conv.id)
        ).all()
        assert [f.to_dict() for f in findings] == answer["findings"]

        review = session.scalars(select(Review).where(Review.conversation_id == conv.id)).one()
        assert review.id == answer["review"]
        assert review.status == "pending"
        assert review.message == answer["first_alert"]
        assert review.tactics == sorted({f["tactic"] for f in answer["findings"]})
        assert isinstance(review.created_at, datetime)

        event = session.scalars(
            select(WebhookEvent).where(WebhookEvent.conversation_id == conv.id)
        ).one()
        assert event.type == "alert.fired"
        assert event.payload["id"] == event.id
        assert event.payload["tenant"] == "acme"
        assert event.payload["data"]["review"] == review.id
        assert event.payload["data"]["findings"] == answer["findings"]
        assert isinstance(event.next_attempt_at, datetime)

        if session.get_bind().dialect.name == "sqlite":
            # The same text form as a row the ORM wrote (the tenant), so that date-time
            # comparisons in SQL (retention sweep, outbox due times) order them correctly.
            written = session.execute(
                text(
                    "SELECT c.created_at, c.updated_at, m.received_at, r.created_at, "
                    "e.next_attempt_at, t.created_at FROM api_conversations c "
                    "JOIN api_messages m ON m.conversation_id = c.id "
                    "JOIN api_reviews r ON r.conversation_id = c.id "
                    "JOIN api_webhook_events e ON e.conversation_id = c.id "
                    "JOIN api_tenants t ON t.id = c.tenant_id WHERE c.id = :id LIMIT 1"
                ),
                {"id": conv.id},
            ).one()
            assert all(_SQLITE_DATETIME.fullmatch(value) for value in written), written

    delivered = webhook_receiver.wait_for(1)
    assert delivered[0]["data"]["review"] == answer["review"]


def test_the_retention_sweep_finds_conversations_the_append_wrote(api: Any, kit: Any) -> None:
    assert api.append("old", kit.messages(kit.ordinary[:2])).status_code == 200
    assert api.append("new", kit.messages(kit.ordinary[:2])).status_code == 200
    with api.session_factory() as session:
        old = session.scalars(
            select(StreamedConversation).where(StreamedConversation.external_id == "old")
        ).one()
        old.updated_at = old.updated_at - timedelta(days=40)
        session.commit()
    assert erase_idle(api.session_factory, 30) == 1
    with api.session_factory() as session:
        left = session.scalars(select(StreamedConversation.external_id)).all()
    assert left == ["new"]


def test_a_broken_connection_is_thrown_away(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'raw.db'}"
    upgrade_database(url)
    engine = create_db_engine(url)
    connections = RawConnections(engine, ping_after=0.0)
    try:
        with connections.connection() as db:
            first = db
            db.execute("SELECT 1")
        first.close()  # broken while idle: the ping before reuse finds it out
        with connections.connection() as db:
            assert db is not first
            assert db.execute("SELECT 1").fetchone() == (1,)
            second = db

        def break_it_while_in_use() -> None:
            with connections.connection() as db:
                assert db is second
                db.close()  # the failed block's rollback fails too
                db.execute("SELECT 1")

        with pytest.raises(sqlite3.ProgrammingError):
            break_it_while_in_use()
        with connections.connection() as db:
            assert db is not second
            assert db.execute("SELECT count(*) FROM api_tenants").fetchone() == (0,)

        with connections.connection() as db:  # left open by the block: rolled back
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "INSERT INTO api_tenants (name, created_at) "
                "VALUES ('left-open', '2026-01-01 00:00:00.000000')"
            )
        with make_session_factory(engine)() as session:
            assert session.scalars(select(Tenant)).all() == []
    finally:
        connections.close()
        engine.dispose()


def test_named_parameters_for_psycopg() -> None:
    assert pyformat("SELECT a FROM t WHERE b = :b AND c LIKE '5%'") == (
        "SELECT a FROM t WHERE b = %(b)s AND c LIKE '5%%'"
    )
    assert pyformat("SELECT x::text, :y") == "SELECT x::text, %(y)s"


def test_the_detector_cache_keeps_one_entry_per_conversation() -> None:
    cache = MonitorCache(2)
    a, b, c = object(), object(), object()  # stand-ins: the cache only stores and returns them
    one, two, three = ("model", 1, "c1"), ("model", 1, "c2"), ("model", 1, "c3")
    cache.put(one, (1, "t1", 1), a)  # type: ignore[arg-type]
    assert cache.expected(one) == (1, "t1", 1)
    assert cache.take(one, (1, "t1", 2)) is None  # another process moved it on
    assert len(cache) == 0  # the outdated detector is dropped, not left to the LRU bound
    assert cache.expected(one) is None
    cache.put(one, (1, "t1", 2), a)  # type: ignore[arg-type]
    cache.put(one, (1, "t1", 3), b)  # type: ignore[arg-type]  # replaces: one entry
    assert len(cache) == 1
    assert cache.take(one, (1, "t1", 3)) is b
    cache.put(one, (1, "t1", 3), b)  # type: ignore[arg-type]
    cache.put(two, (2, "t2", 1), c)  # type: ignore[arg-type]
    cache.take(one, (1, "t1", 3))
    cache.put(one, (1, "t1", 3), b)  # type: ignore[arg-type]  # one used last: two is older
    cache.put(three, (3, "t3", 1), a)  # type: ignore[arg-type]
    assert len(cache) == 2
    assert cache.expected(two) is None  # least recently used, dropped
    assert cache.take(one, (5, "t5", 3)) is None  # erased and re-created: another row


def test_a_kept_detector_saves_reading_the_state(api: Any, kit: Any) -> None:
    """The row's read brings the stored state only when this process keeps no detector for
    the row's version; appends give the same answers either way."""
    cache = api.client.app.state.monitor_cache
    msgs = kit.messages(kit.grooming[:4], ids="k")
    first = [api.append("kept", [m]).json() for m in msgs[:2]]
    assert len(cache) >= 1
    cache.max_entries = 0  # from now on: nothing kept, every append restores
    rest = [api.append("kept", [m]).json() for m in msgs[2:]]
    cache.max_entries = 1024
    fresh = [api.append("again", [m]).json() for m in msgs]
    for a, b in zip([*first, *rest], fresh, strict=True):
        assert (a["risk"], a["message_count"], a["findings"]) == (
            b["risk"],
            b["message_count"],
            b["findings"],
        )


def _replanned() -> float:
    return REGISTRY.get_sample_value("groomwatch_appends_replanned_total") or 0.0


def _incoming(kit: Any, i: int) -> list[IncomingMessage]:
    author, words = kit.grooming[i]
    return [IncomingMessage(text=words, author=author, client_id=f"m{i}")]


def _acme_store(url: str, kit: Any, **settings: Any) -> tuple[Any, Any, AppendStore, Any]:
    """A migrated database with the tenant ``acme`` (``settings`` set on it): the engine, a
    session factory, an :class:`AppendStore` and the tenant, detached from its session."""
    upgrade_database(url)
    kit.make_tenants(url, ("acme",))
    engine = create_db_engine(url)
    factory = make_session_factory(engine)
    store = AppendStore(engine)
    with factory() as session:
        tenant = get_tenant_by_name(session, "acme")
        for name, value in settings.items():
            setattr(tenant, name, value)
        session.commit()
        session.refresh(tenant)
        session.expunge(tenant)
    return engine, factory, store, tenant


@pytest.mark.postgres
def test_a_postgres_write_outside_a_transaction_is_version_checked(
    postgres_url: str, kit: Any, detector: Any
) -> None:
    """PostgreSQL appends are planned from an unlocked read and written by one statement that
    applies only if the conversation has not moved on: overtaken, it writes nothing, and the
    append is made again under the row lock, giving the sequential result."""
    engine, factory, store, tenant = _acme_store(postgres_url, kit)
    try:
        mine, theirs = MonitorCache(16), MonitorCache(16)  # two processes' caches
        append_messages(store, detector, tenant, "c", _incoming(kit, 0), cache=mine)

        with store.connections.connection() as db:
            planned = streaming._plan_before_lock(
                store, db, detector, tenant, "c", _incoming(kit, 1), [], mine
            )
            assert planned is not None
            assert streaming._writes_unlocked(planned)
            # another process appends message 2 between this one's read and its write
            append_messages(store, detector, tenant, "c", _incoming(kit, 2), cache=theirs)
            assert (
                streaming._write_unlocked(store, db, detector, tenant, "c", planned, mine) is None
            )

        def stored() -> list[tuple[int, str]]:
            with factory() as session:
                return [
                    (r.position, r.client_id)
                    for r in session.execute(
                        select(StoredMessage.position, StoredMessage.client_id).order_by(
                            StoredMessage.position
                        )
                    )
                ]

        assert stored() == [(0, "m0"), (1, "m2")]  # nothing of the overtaken plan
        result = append_messages(store, detector, tenant, "c", _incoming(kit, 1), cache=mine)
        assert result.message_count == 3
        assert stored() == [(0, "m0"), (1, "m2"), (2, "m1")]
        monitor = detector.monitor(detector.default_policy)
        for i in (0, 2, 1):  # the stored order
            author, words = kit.grooming[i]
            update = monitor.update(Message(text=words, author=author))
        assert result.risk == update.risk

        before = _replanned()  # not overtaken: written as planned, once
        result = append_messages(store, detector, tenant, "c", _incoming(kit, 3), cache=mine)
        assert _replanned() == before
        assert result.message_count == 4
        assert stored()[-1] == (3, "m3")
        with factory() as session:
            conv = session.scalars(select(StreamedConversation)).one()
            assert (conv.version, conv.message_count) == (4, 4)
    finally:
        store.close()
        engine.dispose()


@pytest.mark.postgres
def test_the_detector_state_stays_in_the_conversations_row_on_postgresql(
    postgres_url: str,
) -> None:
    """Migration api_0003: a row up to a page is not compressed and moved to the TOAST table
    (every append rewrites the detector's state)."""
    upgrade_database(postgres_url)
    engine = create_db_engine(postgres_url)
    try:
        with engine.begin() as conn:
            options = conn.execute(
                text("SELECT reloptions FROM pg_class WHERE relname = 'api_conversations'")
            ).scalar_one()
            assert "toast_tuple_target=8160" in options
            tenant_id = conn.execute(
                text(
                    "INSERT INTO api_tenants (name, created_at) VALUES ('inline', now())"
                    " RETURNING id"
                )
            ).scalar_one()
            state = '{"counts":["' + "A" * 5000 + '"]}'  # ~5 KB, as after a few dozen messages
            conn.execute(
                text(
                    "INSERT INTO api_conversations (tenant_id, external_id, created_at, updated_at,"
                    " version, message_count, risk, alert, state)"
                    " VALUES (:t, 'inline-1', now(), now(), 1, 1, 0.0, false, CAST(:s AS json))"
                ),
                {"t": tenant_id, "s": state},
            )
            size = conn.execute(
                text("SELECT pg_column_size(state) FROM api_conversations WHERE tenant_id = :t"),
                {"t": tenant_id},
            ).scalar_one()
            assert size >= len(state)  # stored as it is, not compressed
    finally:
        engine.dispose()


def test_a_later_first_alert_carries_every_stored_finding_in_order(
    api: Any, kit: Any, webhook_receiver: Any, alert_index: int
) -> None:
    """A first alert on a conversation that already has findings: its review item lists the
    tactics and its webhook event the findings of every append so far, in the stored order
    (PostgreSQL writes it with the append's one version-checked statement, SQLite under the
    write lock)."""
    api.set_tenant("acme", webhook_url=webhook_receiver.url, webhook_secret=webhook_receiver.secret)
    sent = kit.messages(kit.grooming, ids="g")
    answers = []
    for m in sent[: alert_index + 1]:  # one message an append, up to the alert
        r = api.append("later-1", [m])
        assert r.status_code == 200, r.text
        answers.append(r.json())
    assert [a["fired"] for a in answers] == [False] * alert_index + [True]
    every = [f for a in answers for f in a["findings"]]
    assert len(answers[-1]["findings"]) < len(every)  # earlier appends had findings too

    with api.session_factory() as session:
        conv = session.scalars(
            select(StreamedConversation).where(StreamedConversation.external_id == "later-1")
        ).one()
        stored = session.scalars(
            select(StoredFinding)
            .where(StoredFinding.conversation_id == conv.id)
            .order_by(StoredFinding.message, StoredFinding.id)
        ).all()
        assert [f.to_dict() for f in stored] == every
        review = session.scalars(select(Review).where(Review.conversation_id == conv.id)).one()
        assert review.id == answers[-1]["review"]
        assert review.message == answers[-1]["first_alert"] == alert_index
        assert review.tactics == sorted({f["tactic"] for f in every})
        event = session.scalars(
            select(WebhookEvent).where(WebhookEvent.conversation_id == conv.id)
        ).one()
        assert event.status in ("pending", "delivered")
        assert event.payload["data"]["review"] == review.id
        assert event.payload["data"]["message_count"] == alert_index + 1
        assert event.payload["data"]["findings"] == [
            {k: f[k] for k in ("tactic", "message", "score", "evidence", "start", "end")}
            for f in every
        ]
    delivered = webhook_receiver.wait_for(1)
    assert delivered[0]["data"]["review"] == review.id


@pytest.mark.postgres
def test_an_overtaken_first_alert_writes_no_review_and_no_event(
    postgres_url: str, kit: Any, detector: Any, alert_threshold: float, alert_index: int
) -> None:
    """PostgreSQL: two processes append the same firing message (a retry reaching another
    worker). The plan overtaken by the other's write writes nothing (no message, no review
    item, no webhook event), and made again it is a duplicate: one alert, never two."""
    engine, factory, store, tenant = _acme_store(
        postgres_url,
        kit,
        threshold=alert_threshold,
        window=1,
        min_messages=1,
        webhook_url="http://127.0.0.1:9/hook",
        webhook_secret="s" * 32,
    )
    try:
        mine, theirs = MonitorCache(16), MonitorCache(16)  # two processes' caches
        before = [
            IncomingMessage(text=words, author=author, client_id=f"m{i}")
            for i, (author, words) in enumerate(kit.grooming[:alert_index])
        ]
        first = append_messages(store, detector, tenant, "c", before, cache=mine)
        assert first.first_alert is None
        author, words = kit.grooming[alert_index]
        firing = [IncomingMessage(text=words, author=author, client_id="last")]

        def counts() -> tuple[int, int, int]:
            with factory() as session:
                return (
                    session.scalar(select(func.count()).select_from(StoredMessage)) or 0,
                    session.scalar(select(func.count()).select_from(Review)) or 0,
                    session.scalar(select(func.count()).select_from(WebhookEvent)) or 0,
                )

        with store.connections.connection() as db:
            planned = streaming._plan_before_lock(
                store, db, detector, tenant, "c", firing, [], mine
            )
            assert planned is not None
            assert planned.update_ is not None
            assert planned.update_.first_alert == alert_index  # this plan fires
            assert streaming._writes_unlocked(planned)
            # the other process appends the same message between this one's read and its write
            theirs_result = append_messages(store, detector, tenant, "c", firing, cache=theirs)
            assert theirs_result.fired is True
            assert counts() == (alert_index + 1, 1, 1)
            assert (
                streaming._write_unlocked(store, db, detector, tenant, "c", planned, mine) is None
            )
        assert counts() == (alert_index + 1, 1, 1)  # nothing of the overtaken plan

        again = append_messages(store, detector, tenant, "c", firing, cache=mine)
        assert again.duplicates == 1
        assert again.fired is False
        assert again.review == theirs_result.review
        assert again.first_alert == alert_index
        assert counts() == (alert_index + 1, 1, 1)
    finally:
        store.close()
        engine.dispose()
