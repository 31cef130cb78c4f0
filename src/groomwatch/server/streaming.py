"""Streamed conversations: append messages, read the state, erase.

An append is one transaction that holds the conversation's lock from the first read to the
commit, so appends to one conversation arriving at different threads, processes or hosts are
applied one after the other, each on the state the previous one left:

- PostgreSQL: ``INSERT ... ON CONFLICT DO NOTHING`` (the conversation may be new), then
  ``SELECT ... FOR UPDATE`` on its row;
- SQLite: ``BEGIN IMMEDIATE`` (the database's write lock, taken before the first read). As the
  lock is for the whole database, an append without an ``Idempotency-Key`` to an existing
  conversation is first planned outside it (:func:`_plan_before_lock`) and written under it only
  if the conversation's version has not moved (:func:`_write_planned`); otherwise it is planned
  again under the lock, as above.

Within it: the streaming detector is restored from the stored state, fed the new messages, and
the messages, their risk (the risk history), the findings and the new state are written. When the
early warning fires for the first time, a :class:`~groomwatch.server.models.Review` is queued and a
webhook event is written to the outbox, in the same commit: an acknowledged append has its alert
stored, and no alert exists without its messages.

Retries are safe: a message carrying a client ``id`` already stored is skipped, and an append
made with an ``Idempotency-Key`` already seen returns the first answer without applying anything.

Cost: the hot path is a handful of prebuilt Core statements on the session's connection (the
locking read also brings the review id and whether any client id is a duplicate), and the
restored detector is kept in this process (:class:`MonitorCache`), used only while the row's
version is the one it wrote, so the stored state is read and decoded only after another process
(or a failed append) moved the conversation on. The state is still written by every append.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    bindparam,
    delete,
    exists,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from groomwatch.advice import next_steps
from groomwatch.conversation import Message, Participant, Role
from groomwatch.detect.fusion import is_adult, is_minor
from groomwatch.detect.monitor import Monitor
from groomwatch.errors import GroomwatchError, RecordError
from groomwatch.server import metrics
from groomwatch.server.models import (
    IdempotentAppend,
    Review,
    StoredFinding,
    StoredMessage,
    StreamedConversation,
    Tenant,
    WebhookEvent,
    utcnow,
)
from groomwatch.server.transactions import is_postgres, write_transaction
from groomwatch.server.webhooks import enqueue

ALERT_EVENT = "alert.fired"
HUMAN_REVIEW_NOTICE = (
    "A groomwatch alert is a score to support human review. It is not a finding that anyone did "
    "anything, and groomwatch takes no action against any person: a trained reviewer reads the "
    "messages behind the score and decides what, if anything, to do."
)


class IdempotencyConflict(GroomwatchError):
    """An ``Idempotency-Key`` was reused with a different request."""


class ConversationNotFound(GroomwatchError):
    """No conversation with this id for this tenant."""


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """A message as the API receives it; ``client_id`` is the platform's own message id."""

    text: str
    author: str | None = None
    time: str | None = None
    client_id: str | None = None


@dataclass(frozen=True, slots=True)
class AppendResult:
    """The answer to an append: the conversation's risk and alert state after it, and what the
    messages it brought were found to show."""

    id: str
    message_count: int
    accepted: int
    duplicates: int
    risk: float
    alert: bool
    fired: bool
    first_alert: int | None
    suspect: str | None
    findings: tuple[dict[str, Any], ...] = ()
    review: str | None = None
    steps: tuple[dict[str, Any], ...] = field(default=())
    replayed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "message_count": self.message_count,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "risk": round(self.risk, 4),
            "alert": self.alert,
            "fired": self.fired,
            "first_alert": self.first_alert,
            "suspect": self.suspect,
            "findings": list(self.findings),
            "review": self.review,
            "steps": list(self.steps),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, replayed: bool = False) -> AppendResult:
        return cls(
            id=data["id"],
            message_count=data["message_count"],
            accepted=data["accepted"],
            duplicates=data["duplicates"],
            risk=data["risk"],
            alert=data["alert"],
            fired=data["fired"],
            first_alert=data["first_alert"],
            suspect=data["suspect"],
            findings=tuple(data["findings"]),
            review=data["review"],
            steps=tuple(data["steps"]),
            replayed=replayed,
        )


def platform_steps() -> tuple[dict[str, Any], ...]:
    """The protective steps attached to every alert (preserve evidence, block, report)."""
    return tuple({"key": s.key, "title": s.title, "text": s.text} for s in next_steps("platform"))


def request_digest(
    messages: Sequence[IncomingMessage], participants: Sequence[Participant] = ()
) -> str:
    body: list[Any] = [[m.client_id, m.author, m.text, m.time] for m in messages]
    if participants:
        body.append([participant_dict(p) for p in participants])
    canonical = json.dumps(body, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def tenant_policy(detector: Any, tenant: Tenant) -> Any:
    """The tenant's early-warning policy: its own settings over the model's defaults."""
    overrides = tenant.policy_overrides()
    if not overrides:
        return detector.default_policy
    merged = {**detector.default_policy.to_dict(), **overrides}
    return type(detector.default_policy).from_dict(merged)


class MonitorCache:
    """Restored streaming detectors of this process, by conversation row and version.

    An append takes the conversation's monitor out (:meth:`take`) while it holds the
    conversation's lock and puts it back (:meth:`put`) only after its commit, under the version
    it wrote. A monitor is used only when the row's stored version (and creation time, so an
    erased and re-created conversation never matches) is the one it was put back with, so an
    append made by another process, or a failed one, makes this process restore from the stored
    state instead. At most ``max_entries`` monitors are kept (least recently used dropped)."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[Any, ...], Monitor] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: tuple[Any, ...]) -> Monitor | None:
        if self.max_entries <= 0:
            return None
        with self._lock:
            return self._entries.pop(key, None)

    def put(self, key: tuple[Any, ...], monitor: Monitor) -> None:
        if self.max_entries <= 0:
            return
        with self._lock:
            self._entries[key] = monitor
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(slots=True)
class _Locked:
    """The conversation's row as an append needs it (the state is read only when needed)."""

    id: int
    created_at: Any
    version: int
    message_count: int
    risk: float
    alert: bool
    first_alert: int | None
    suspect: str | None
    participants: list[dict[str, Any]] | None
    review: str | None
    has_duplicates: bool


_CONV = StreamedConversation.metadata.tables[StreamedConversation.__tablename__]
_MESSAGES = StoredMessage.metadata.tables[StoredMessage.__tablename__]
_FINDINGS = StoredFinding.metadata.tables[StoredFinding.__tablename__]
_REVIEWS = Review.metadata.tables[Review.__tablename__]
_IDEMPOTENT = IdempotentAppend.metadata.tables[IdempotentAppend.__tablename__]


def _lock_query(client_ids: int, postgres: bool) -> Select[Any]:
    """The conversation's row (bound: ``tenant_id``, ``external_id``, and ``client_id`` when
    ``client_ids`` is 1, ``client_ids`` when it is 2, for two or more), its review item's id and
    whether any of the client ids is already stored: one round trip. A single id (the usual
    append) is compared with ``=``: an expanding ``IN`` is rendered again on every execution."""
    review = (
        select(_REVIEWS.c.id)
        .where(_REVIEWS.c.conversation_id == _CONV.c.id)
        .limit(1)
        .scalar_subquery()
    )
    dup: Any = literal(False)
    if client_ids:
        same = (
            _MESSAGES.c.client_id == bindparam("client_id")
            if client_ids == 1
            else _MESSAGES.c.client_id.in_(bindparam("client_ids", expanding=True))
        )
        dup = exists(select(literal(1)).where(_MESSAGES.c.conversation_id == _CONV.c.id, same))
    query = select(
        _CONV.c.id,
        _CONV.c.created_at,
        _CONV.c.version,
        _CONV.c.message_count,
        _CONV.c.risk,
        _CONV.c.alert,
        _CONV.c.first_alert,
        _CONV.c.suspect,
        _CONV.c.participants,
        review.label("review"),
        dup.label("has_duplicates"),
    ).where(
        _CONV.c.tenant_id == bindparam("tenant_id"),
        _CONV.c.external_id == bindparam("external_id"),
    )
    if postgres:
        query = query.with_for_update(of=_CONV)
    return query


# Built once: SQLAlchemy then reuses their compiled form (and cache key) on every append.
_LOCK_QUERIES = {(c, pg): _lock_query(c, pg) for c in (0, 1, 2) for pg in (False, True)}
_STATE_QUERY = select(_CONV.c.state).where(_CONV.c.id == bindparam("conversation_id"))
_VERSION_QUERY = select(_CONV.c.version, _CONV.c.created_at).where(
    _CONV.c.id == bindparam("conversation_id")
)
_SEEN_QUERY = select(_MESSAGES.c.client_id).where(
    _MESSAGES.c.conversation_id == bindparam("conversation_id"),
    _MESSAGES.c.client_id.in_(bindparam("client_ids", expanding=True)),
)
_IDEMPOTENT_QUERY = select(_IDEMPOTENT.c.request_digest, _IDEMPOTENT.c.response).where(
    _IDEMPOTENT.c.conversation_id == bindparam("conversation_id"),
    _IDEMPOTENT.c.key == bindparam("key"),
)
_INSERT_MESSAGES = insert(_MESSAGES)
_INSERT_FINDINGS = insert(_FINDINGS)
_UPDATE_CONVERSATION = (
    update(_CONV)
    .where(_CONV.c.id == bindparam("conversation_id"))
    .values(
        state=bindparam("p_state"),
        message_count=bindparam("p_message_count"),
        risk=bindparam("p_risk"),
        alert=bindparam("p_alert"),
        suspect=bindparam("p_suspect"),
        first_alert=bindparam("p_first_alert"),
        participants=bindparam("p_participants"),
        updated_at=bindparam("p_updated_at"),
        version=bindparam("p_version"),
    )
)


_UPDATES_WITH_INSERTS: dict[tuple[int, int], Any] = {}
_CTE_MAX_ROWS = 16  # larger batches: one insert per table (executemany), then the update


def _rows_cte(table: Any, n: int, prefix: str) -> Any:
    """``INSERT INTO table VALUES (...) x n`` as a CTE, bound ``{prefix}{i}_{column}``."""
    columns = [c.name for c in table.c if c.name != "id"]
    rows: list[dict[str, Any]] = [
        {c: bindparam(f"{prefix}{i}_{c}") for c in columns} for i in range(n)
    ]
    return insert(table).values(rows).cte(prefix)


def _update_with_inserts(n_messages: int, n_findings: int) -> Any:
    """The conversation's update carrying the inserts of ``n_messages`` messages and
    ``n_findings`` findings (PostgreSQL), built once per shape so that SQLAlchemy compiles it
    once: binding the rows' values into the statement would compile it on every append."""
    key = (n_messages, n_findings)
    statement = _UPDATES_WITH_INSERTS.get(key)
    if statement is None:
        statement = _UPDATE_CONVERSATION
        if n_messages:
            statement = statement.add_cte(_rows_cte(_MESSAGES, n_messages, "m"))
        if n_findings:
            statement = statement.add_cte(_rows_cte(_FINDINGS, n_findings, "f"))
        _UPDATES_WITH_INSERTS[key] = statement  # at most (_CTE_MAX_ROWS + 1) ** 2 shapes
    return statement


_UPDATE_WITH_INSERTS_SQL: dict[tuple[int, int], str] = {}


def _update_with_inserts_sql(connection: Connection, n_messages: int, n_findings: int) -> str:
    """:func:`_update_with_inserts` rendered once for PostgreSQL, run as the driver's SQL:
    SQLAlchemy does not reuse the compiled form of an update carrying insert CTEs, and compiling
    it on every append cost more than the round trips it saves. Its JSON values are passed as
    JSON text (as the engine's serializer writes them)."""
    key = (n_messages, n_findings)
    sql = _UPDATE_WITH_INSERTS_SQL.get(key)
    if sql is None:
        compiled = _update_with_inserts(n_messages, n_findings).compile(dialect=connection.dialect)
        if compiled.positional:  # pragma: no cover - psycopg's paramstyle is pyformat
            raise RuntimeError("expected a named paramstyle")
        sql = _UPDATE_WITH_INSERTS_SQL[key] = compiled.string
    return sql


def _compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _numbered(rows: Sequence[Mapping[str, Any]], prefix: str) -> dict[str, Any]:
    return {f"{prefix}{i}_{k}": v for i, row in enumerate(rows) for k, v in row.items()}


def _lock(
    connection: Connection, tenant_id: int, external_id: str, client_ids: Sequence[str]
) -> _Locked:
    """The conversation's row, created if new, locked until the transaction ends (called inside
    :func:`~groomwatch.server.transactions.write_transaction`): one statement when it exists."""
    postgres = connection.dialect.name == "postgresql"
    query = _LOCK_QUERIES[min(len(client_ids), 2), postgres]
    params: dict[str, Any] = {"tenant_id": tenant_id, "external_id": external_id}
    if len(client_ids) == 1:
        params["client_id"] = client_ids[0]
    elif client_ids:
        params["client_ids"] = list(client_ids)
    row = connection.execute(query, params).one_or_none()
    if row is None:
        now = utcnow()
        insert_new = postgresql.insert if postgres else sqlite.insert
        connection.execute(
            insert_new(StreamedConversation)
            .values(
                tenant_id=tenant_id,
                external_id=external_id,
                created_at=now,
                updated_at=now,
                version=0,
                message_count=0,
                risk=0.0,
                alert=False,
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "external_id"])
        )
        row = connection.execute(query, params).one()
    return _locked(row)


def _locked(row: Any) -> _Locked:
    return _Locked(
        id=row.id,
        created_at=row.created_at,
        version=row.version,
        message_count=row.message_count,
        risk=row.risk,
        alert=bool(row.alert),
        first_alert=row.first_alert,
        suspect=row.suspect,
        participants=row.participants,
        review=row.review,
        has_duplicates=bool(row.has_duplicates),
    )


def check_limits(texts: Iterable[str], *, max_chars: int) -> None:
    """A 422 naming the first message longer than ``max_chars``."""
    for i, t in enumerate(texts):
        if len(t) > max_chars:
            raise RecordError(f"longer than {max_chars} characters", field=f"messages[{i}].text")


def participant_dict(p: Participant) -> dict[str, Any]:
    out: dict[str, Any] = {"id": p.id, "role": p.role.value}
    if p.age is not None:
        out["age"] = p.age
    return out


def _participant(data: Mapping[str, Any]) -> Participant:
    age = data.get("age")
    return Participant(
        id=str(data["id"]),
        role=Role(data.get("role", "unknown")),
        age=None if age is None else int(age),
    )


def merge_participants(
    stored: Sequence[Mapping[str, Any]] | None, declared: Sequence[Participant]
) -> list[dict[str, Any]]:
    """The stored participants with the declared ones: a declared id replaces the stored one,
    new ids are added after the others."""
    out = {str(p["id"]): dict(p) for p in stored or ()}
    for p in declared:
        out[p.id] = participant_dict(p)
    return list(out.values())


def _with_roles(state: Mapping[str, Any], participants: Sequence[Participant]) -> dict[str, Any]:
    """``state`` with the tactic pattern's declared adults and minors taken from
    ``participants`` (roles declared in a later append count from then on)."""
    out = dict(state)
    pattern = out.get("pattern")
    if isinstance(pattern, Mapping):
        out["pattern"] = {
            **pattern,
            "adults": sorted(p.id for p in participants if is_adult(p)),
            "minors": sorted(p.id for p in participants if is_minor(p)),
        }
    return out


def append_messages(
    session: Session,
    detector: Any,
    tenant: Tenant,
    external_id: str,
    messages: Sequence[IncomingMessage],
    *,
    idempotency_key: str | None = None,
    participants: Sequence[Participant] = (),
    cache: MonitorCache | None = None,
) -> AppendResult:
    """Apply ``messages`` to the conversation (see the module's docstring) and commit.
    ``participants`` (declared roles and ages) are stored with the conversation and given to its
    detector; ``cache`` keeps this process's restored detectors between appends."""
    digest = "" if idempotency_key is None else request_digest(messages, participants)
    if idempotency_key is None and not is_postgres(session):
        planned = _plan_before_lock(
            session, detector, tenant, external_id, messages, participants, cache
        )
        if planned is not None:
            return _write_planned(
                session, detector, tenant, external_id, messages, participants, cache, planned
            )
    with write_transaction(session), session.no_autoflush:
        return _append(
            session,
            detector,
            tenant,
            external_id,
            messages,
            idempotency_key,
            digest,
            participants,
            cache,
        )


def _write_planned(
    session: Session,
    detector: Any,
    tenant: Tenant,
    external_id: str,
    messages: Sequence[IncomingMessage],
    declared: Sequence[Participant],
    cache: MonitorCache | None,
    planned: _Plan,
) -> AppendResult:
    """Under the write lock: write ``planned`` if the conversation is still at the version it
    was planned from, else plan again (the append as :func:`_append` makes it)."""
    with write_transaction(session), session.no_autoflush:
        connection = session.connection()
        conv = planned.conv
        now_at = connection.execute(_VERSION_QUERY, {"conversation_id": conv.id}).first()
        if now_at is not None and (now_at.version, now_at.created_at) == (
            conv.version,
            conv.created_at,
        ):
            return _write(
                session, connection, detector, tenant, external_id, planned, None, "", cache
            )
        metrics.REPLANNED.inc()  # another writer came first
        return _append(session, detector, tenant, external_id, messages, None, "", declared, cache)


def _plan_before_lock(
    session: Session,
    detector: Any,
    tenant: Tenant,
    external_id: str,
    messages: Sequence[IncomingMessage],
    declared: Sequence[Participant],
    cache: MonitorCache | None,
) -> _Plan | None:
    """SQLite: plan the append from the conversation as last committed, before queueing for the
    database's single write lock (None for a new conversation: it is created under the lock).

    SQLite has one writer at a time for the whole database, so whatever an append does while
    holding the write lock, every other append of every process waits for. Planning (the
    detector's update, the rows to write) is most of an append's work; done here, outside the
    lock, the writers' turns shrink to the writes themselves and several workers' appends
    overlap. The plan is written only if the conversation's version (and creation time) under
    the lock is still the one it was computed from; otherwise the append is planned again under
    the lock, so concurrent appends to one conversation stay serialised exactly as before."""
    client_ids = [m.client_id for m in messages if m.client_id is not None]
    session.commit()  # no read transaction left open from before
    try:
        connection = session.connection()
        query = _LOCK_QUERIES[min(len(client_ids), 2), False]
        params: dict[str, Any] = {"tenant_id": tenant.id, "external_id": external_id}
        if len(client_ids) == 1:
            params["client_id"] = client_ids[0]
        elif client_ids:
            params["client_ids"] = list(client_ids)
        row = connection.execute(query, params).one_or_none()
        if row is None:
            return None
        conv = _locked(row)
        with session.no_autoflush:
            return _compute(
                connection, detector, tenant, conv, messages, client_ids, declared, cache
            )
    finally:
        session.rollback()  # the reads end here; the writes take the lock


def _append(
    session: Session,
    detector: Any,
    tenant: Tenant,
    external_id: str,
    messages: Sequence[IncomingMessage],
    idempotency_key: str | None,
    digest: str,
    declared: Sequence[Participant],
    cache: MonitorCache | None,
) -> AppendResult:
    connection = session.connection()
    client_ids = [m.client_id for m in messages if m.client_id is not None]
    conv = _lock(connection, tenant.id, external_id, client_ids)

    if idempotency_key is not None:
        prior = connection.execute(
            _IDEMPOTENT_QUERY, {"conversation_id": conv.id, "key": idempotency_key}
        ).one_or_none()
        if prior is not None:
            session.rollback()
            if prior.request_digest != digest:
                raise IdempotencyConflict("this Idempotency-Key was used for a different request")
            return AppendResult.from_dict(prior.response, replayed=True)

    plan = _compute(connection, detector, tenant, conv, messages, client_ids, declared, cache)
    return _write(
        session, connection, detector, tenant, external_id, plan, idempotency_key, digest, cache
    )


@dataclass(slots=True)
class _Plan:
    """What an append will write: computed from the conversation's row as read (``conv``)."""

    conv: _Locked
    monitor: Monitor
    stored_participants: list[dict[str, Any]] | None
    participants_changed: bool
    had_alert: bool
    now: datetime
    accepted: int
    duplicates: int
    new_findings: list[dict[str, Any]]
    message_rows: list[dict[str, Any]]
    finding_rows: list[dict[str, Any]]
    update_: Any


def _compute(
    connection: Connection,
    detector: Any,
    tenant: Tenant,
    conv: _Locked,
    messages: Sequence[IncomingMessage],
    client_ids: Sequence[str],
    declared: Sequence[Participant],
    cache: MonitorCache | None,
) -> _Plan:
    """Feed the new messages to the conversation's detector (kept in ``cache`` or restored from
    the stored state) and build the rows to write. Reads only; the detector taken from the cache
    is the plan's now (it is put back by :func:`_write`, under the version it writes)."""
    seen: set[str] = set()
    if conv.has_duplicates:
        seen = set(
            connection.scalars(_SEEN_QUERY, {"conversation_id": conv.id, "client_ids": client_ids})
        )

    policy = tenant_policy(detector, tenant)
    participants_changed = False
    stored_participants = conv.participants
    if declared:
        merged = merge_participants(conv.participants, declared)
        participants_changed = merged != (conv.participants or [])
        stored_participants = merged
    key = (detector.fingerprint, conv.id, conv.created_at, conv.version)
    monitor = cache.take(key) if cache is not None else None
    if monitor is not None and participants_changed:
        monitor = None  # restore below, with the new roles
    if monitor is None:
        state: Mapping[str, Any] | None = connection.scalar(
            _STATE_QUERY, {"conversation_id": conv.id}
        )
        everyone = [_participant(p) for p in stored_participants or ()]
        if state is not None and participants_changed:
            state = _with_roles(state, everyone)
        monitor = detector.monitor(policy, state=state, participants=everyone)
    else:
        monitor.policy = policy  # the tenant's settings now, as a restored monitor would have
    had_alert = conv.first_alert is not None
    now = utcnow()
    accepted = duplicates = 0
    new_findings: list[dict[str, Any]] = []
    message_rows: list[dict[str, Any]] = []
    finding_rows: list[dict[str, Any]] = []
    update_: Any = None
    for m in messages:
        if m.client_id is not None:
            if m.client_id in seen:
                duplicates += 1
                continue
            seen.add(m.client_id)
        update_ = monitor.update(Message(text=m.text, author=m.author, time=m.time))
        message_rows.append(
            {
                "conversation_id": conv.id,
                "position": conv.message_count + accepted,
                "client_id": m.client_id,
                "author": m.author,
                "text": m.text,
                "time": m.time,
                "risk": float(update_.risk),
                "received_at": now,
            }
        )
        for f in update_.findings:
            finding_rows.append(
                {
                    "conversation_id": conv.id,
                    "message": f.message,
                    "tactic": f.tactic,
                    "score": float(f.score),
                    "evidence": f.evidence,
                    "start": f.start,
                    "end": f.end,
                    "author": f.author,
                }
            )
            new_findings.append(f.to_dict())
        accepted += 1
    return _Plan(
        conv=conv,
        monitor=monitor,
        stored_participants=stored_participants,
        participants_changed=participants_changed,
        had_alert=had_alert,
        now=now,
        accepted=accepted,
        duplicates=duplicates,
        new_findings=new_findings,
        message_rows=message_rows,
        finding_rows=finding_rows,
        update_=update_,
    )


def _write(
    session: Session,
    connection: Connection,
    detector: Any,
    tenant: Tenant,
    external_id: str,
    plan: _Plan,
    idempotency_key: str | None,
    digest: str,
    cache: MonitorCache | None,
) -> AppendResult:
    """Write ``plan`` (the conversation's row is still at the version it was computed from, and
    this transaction holds the write lock) and commit; put the detector back into ``cache``."""
    conv, monitor, now = plan.conv, plan.monitor, plan.now
    stored_participants, participants_changed = plan.stored_participants, plan.participants_changed
    had_alert, accepted, duplicates = plan.had_alert, plan.accepted, plan.duplicates
    new_findings, message_rows, finding_rows = (
        plan.new_findings,
        plan.message_rows,
        plan.finding_rows,
    )
    update_ = plan.update_
    # Core statements on the session's connection: one per table, whatever the batch size. On
    # PostgreSQL the inserts ride with the conversation's update below, as data-modifying CTEs of
    # one statement: every statement is a round trip to the server, and a small append is
    # mostly round trips there.
    write_with_update = (
        connection.dialect.name == "postgresql"
        and (update_ is not None or participants_changed)
        and len(message_rows) <= _CTE_MAX_ROWS
        and len(finding_rows) <= _CTE_MAX_ROWS
    )
    if not write_with_update:
        if message_rows:
            connection.execute(_INSERT_MESSAGES, message_rows)
        if finding_rows:
            connection.execute(_INSERT_FINDINGS, finding_rows)

    fired = False
    review_id = conv.review
    version = conv.version
    if update_ is not None:
        conv.message_count += accepted
        conv.risk, conv.alert, conv.suspect = (
            float(update_.risk),
            bool(update_.alert),
            update_.suspect,
        )
        if not had_alert and update_.first_alert is not None:
            fired = True
            conv.first_alert = int(update_.first_alert)
    if update_ is not None or participants_changed:
        # New roles change the detector's state even without new messages: written (and the
        # version moved on) like an append, so every process restores the same detector.
        version += 1
        values = {
            "conversation_id": conv.id,
            "p_state": monitor.state_dict(),
            "p_message_count": conv.message_count,
            "p_risk": conv.risk,
            "p_alert": conv.alert,
            "p_suspect": conv.suspect,
            "p_first_alert": conv.first_alert,
            "p_participants": stored_participants,
            "p_updated_at": now,
            "p_version": version,
        }
        if write_with_update:
            values["p_state"] = _compact_json(values["p_state"])
            values["p_participants"] = _compact_json(stored_participants)
            connection.exec_driver_sql(
                _update_with_inserts_sql(connection, len(message_rows), len(finding_rows)),
                _numbered(message_rows, "m") | _numbered(finding_rows, "f") | values,
            )
        else:
            connection.execute(_UPDATE_CONVERSATION, values)
    if fired:
        review_id = _raise_alert(session, tenant, conv, external_id, detector)

    result = AppendResult(
        id=external_id,
        message_count=conv.message_count,
        accepted=accepted,
        duplicates=duplicates,
        risk=conv.risk,
        alert=conv.alert,
        fired=fired,
        first_alert=conv.first_alert,
        suspect=conv.suspect,
        findings=tuple(new_findings),
        review=review_id,
        steps=platform_steps() if conv.first_alert is not None else (),
    )
    if idempotency_key is not None:
        connection.execute(
            insert(_IDEMPOTENT).values(
                conversation_id=conv.id,
                key=idempotency_key,
                request_digest=digest,
                response=result.to_dict(),
                created_at=now,
            )
        )
    session.commit()
    if cache is not None:
        cache.put((detector.fingerprint, conv.id, conv.created_at, version), monitor)
    metrics.MESSAGES.inc(accepted)
    if duplicates:
        metrics.DUPLICATES.inc(duplicates)
    if fired:
        metrics.ALERTS.inc()
    return result


def _raise_alert(
    session: Session, tenant: Tenant, conv: _Locked, external_id: str, detector: Any
) -> str:
    """Queue the review item and the webhook event (same transaction as the append)."""
    all_findings = session.scalars(
        select(StoredFinding)
        .where(StoredFinding.conversation_id == conv.id)
        .order_by(StoredFinding.message, StoredFinding.id)
    ).all()
    tactics = sorted({f.tactic for f in all_findings})
    review = Review(
        tenant_id=tenant.id,
        conversation_id=conv.id,
        external_id=external_id,
        message=conv.first_alert if conv.first_alert is not None else 0,
        risk=conv.risk,
        suspect=conv.suspect,
        tactics=tactics,
    )
    session.add(review)
    session.flush()
    enqueue(
        session,
        tenant,
        ALERT_EVENT,
        {
            "conversation": external_id,
            "review": review.id,
            "risk": round(conv.risk, 4),
            "first_alert": conv.first_alert,
            "message_count": conv.message_count,
            "suspect": conv.suspect,
            "tactics": tactics,
            "findings": [f.to_dict() for f in all_findings],
            "policy": tenant_policy(detector, tenant).to_dict(),
            "steps": list(platform_steps()),
            "notice": HUMAN_REVIEW_NOTICE,
        },
        conversation_id=conv.id,
    )
    return review.id


def find_conversation(session: Session, tenant: Tenant, external_id: str) -> StreamedConversation:
    conv = session.scalar(
        select(StreamedConversation).where(
            StreamedConversation.tenant_id == tenant.id,
            StreamedConversation.external_id == external_id,
        )
    )
    if conv is None:
        raise ConversationNotFound(external_id)
    return conv


def describe_conversation(
    session: Session, tenant: Tenant, external_id: str, *, include_messages: bool = False
) -> dict[str, Any]:
    """The state and risk history of a conversation (and its stored messages on request)."""
    conv = find_conversation(session, tenant, external_id)
    rows = session.execute(
        select(
            StoredMessage.position,
            StoredMessage.risk,
            StoredMessage.client_id,
            StoredMessage.author,
            StoredMessage.text,
            StoredMessage.time,
        )
        .where(StoredMessage.conversation_id == conv.id)
        .order_by(StoredMessage.position)
    ).all()
    findings = session.scalars(
        select(StoredFinding)
        .where(StoredFinding.conversation_id == conv.id)
        .order_by(StoredFinding.message, StoredFinding.id)
    ).all()
    review = session.scalar(select(Review).where(Review.conversation_id == conv.id))
    out: dict[str, Any] = {
        "id": conv.external_id,
        "message_count": conv.message_count,
        "risk": round(conv.risk, 4),
        "alert": conv.alert,
        "first_alert": conv.first_alert,
        "suspect": conv.suspect,
        "created_at": as_utc(conv.created_at),
        "updated_at": as_utc(conv.updated_at),
        "history": [{"message": r.position, "risk": round(r.risk, 4)} for r in rows],
        "findings": [f.to_dict() for f in findings],
        "review": None if review is None else {"id": review.id, "status": review.status},
    }
    if include_messages:
        out["messages"] = [
            {"id": r.client_id, "author": r.author, "text": r.text, "time": r.time} for r in rows
        ]
    return out


def erase_conversation(session: Session, tenant: Tenant, external_id: str) -> None:
    """Erase a conversation and everything derived from it: messages, findings, detector state,
    idempotency answers, review item and undelivered webhook events. On SQLite the database is
    set to overwrite deleted content (``secure_delete``) and the write-ahead log is checkpointed,
    so the text does not linger in the file."""
    with write_transaction(session):
        conv = find_conversation(session, tenant, external_id)
        erase_ids(session, [conv.id])
        session.commit()
    if not is_postgres(session):
        session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        session.commit()
    metrics.ERASURES.inc()


def erase_ids(session: Session, conversation_ids: Sequence[int]) -> None:
    if not conversation_ids:
        return
    ids = list(conversation_ids)
    for model in (WebhookEvent, Review, IdempotentAppend, StoredFinding, StoredMessage):
        session.execute(delete(model).where(model.conversation_id.in_(ids)))
    session.execute(delete(StreamedConversation).where(StreamedConversation.id.in_(ids)))


def erase_idle(session_factory: Callable[[], Session], days: int, *, batch: int = 500) -> int:
    """Erase conversations not appended to for ``days`` days (the retention period)."""
    cutoff = utcnow() - timedelta(days=days)
    erased = 0
    while True:
        with session_factory() as session:
            ids = list(
                session.scalars(
                    select(StreamedConversation.id)
                    .where(StreamedConversation.updated_at < cutoff)
                    .limit(batch)
                )
            )
            if not ids:
                return erased
            with write_transaction(session):
                erase_ids(session, ids)
                session.commit()
            erased += len(ids)
            metrics.ERASURES.inc(len(ids))


def as_utc(value: datetime | None) -> str | None:
    """ISO 8601 in UTC (SQLite gives back naive datetimes, which are UTC here)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()
