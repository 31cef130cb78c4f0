"""Streamed conversations: append messages, read the state, erase.

Appends to one conversation arriving at different threads, processes or hosts are applied one
after the other, each on the state the previous one left. The locked append (:func:`_append`) is
one transaction that holds the conversation's lock from the first read to the commit:

- PostgreSQL: ``INSERT ... ON CONFLICT DO NOTHING`` (the conversation may be new), then
  ``SELECT ... FOR UPDATE`` on its row;
- SQLite: ``BEGIN IMMEDIATE`` (the database's write lock, taken before the first read).

An append without an ``Idempotency-Key`` is first planned from the conversation as last
committed, outside any lock (:func:`_plan_before_lock`), and written only if the conversation's
version has not moved meanwhile; otherwise it is made again as the locked append. SQLite writes
the plan under the write lock after checking the version (:func:`_write_planned`: the lock is
for the whole database, so planning outside it lets workers overlap). PostgreSQL writes it with
one version-checked statement in autocommit (:func:`_write_unlocked`: two round trips instead of
four; a first alert three instead of seven, its review item and webhook event in that statement).

Within it: the streaming detector is restored from the stored state, fed the new messages, and
the messages, their risk (the risk history), the findings and the new state are written. When the
early warning fires for the first time, a :class:`~groomwatch.server.models.Review` is queued and a
webhook event is written to the outbox, in the same commit: an acknowledged append has its alert
stored, and no alert exists without its messages.

Retries are safe: a message carrying a client ``id`` already stored is skipped, and an append
made with an ``Idempotency-Key`` already seen returns the first answer without applying anything.

Cost: the hot path runs prebuilt SQL on the driver's connection (:class:`AppendStore`; the
locking read also brings the review id and whether the client id is a duplicate), and the
restored detector is kept in this process (:class:`MonitorCache`), used only while the row's
version is the one it wrote, so the stored state is read and decoded only after another process
(or a failed append) moved the conversation on. The state is still written by every append.
The other operations here (read, erase, retention) use the ORM session.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, text, update
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import Session

from groomwatch.advice import next_steps
from groomwatch.conversation import Message, Participant, Role
from groomwatch.db.raw import RawConnections, pyformat
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
    new_public_id,
    utcnow,
)
from groomwatch.server.transactions import (
    is_postgres,
    sqlite_writer,
    write_transaction,
    writer_lock_fd,
)
from groomwatch.server.webhooks import event_payload

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


@cache
def platform_steps() -> tuple[dict[str, Any], ...]:
    """The protective steps attached to every alert (preserve evidence, block, report): the
    packaged advice, read once (every append to an alerted conversation carries them)."""
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
    """Restored streaming detectors of this process, one per conversation, each with the row it
    was put back for: ``(row id, created_at, version)``.

    Conversations are named by ``ident``: ``(model fingerprint, tenant id, external id)``. An
    append asks which row version this process has a detector for (:meth:`expected`, so that
    its read of the row brings the stored state only if that is not the row's version), takes
    the detector out (:meth:`take`) while it holds the conversation's lock and puts it back
    (:meth:`put`) only after its commit, for the version it wrote. A detector is used only for
    the row's stored version (and creation time and id, so an erased and re-created
    conversation never matches): after an append made by another process, or a failed one,
    this process restores from the stored state instead, and the outdated detector is dropped.
    At most ``max_entries`` are kept (least recently used dropped)."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[Any, ...], tuple[tuple[Any, ...], Monitor]] = OrderedDict()
        self._lock = threading.Lock()

    def expected(self, ident: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """The row ``(id, created_at, version)`` this process keeps a detector for, if any."""
        entry = self._entries.get(ident)
        return None if entry is None else entry[0]

    def take(self, ident: tuple[Any, ...], row: tuple[Any, ...]) -> Monitor | None:
        if self.max_entries <= 0:
            return None
        with self._lock:
            entry = self._entries.pop(ident, None)
        if entry is None or entry[0] != row:
            return None  # none, or outdated (and now dropped)
        return entry[1]

    def put(self, ident: tuple[Any, ...], row: tuple[Any, ...], monitor: Monitor) -> None:
        if self.max_entries <= 0:
            return
        with self._lock:
            self._entries[ident] = (row, monitor)
            self._entries.move_to_end(ident)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(slots=True)
class _Locked:
    """The conversation's row as an append needs it (the state is read only when needed).
    ``created_at`` is the driver's value (text on SQLite): compared, never interpreted."""

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
    state: Any = None  # the stored state as the driver gives it, when ``state_read``
    state_read: bool = False


_CONV = StreamedConversation.metadata.tables[StreamedConversation.__tablename__]
_MESSAGES = StoredMessage.metadata.tables[StoredMessage.__tablename__]
_FINDINGS = StoredFinding.metadata.tables[StoredFinding.__tablename__]
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
_CTE_MAX_ROWS = 16  # larger batches: one insert per table (executemany), then the update


def _rows_cte(table: Any, n: int, prefix: str) -> Any:
    """``INSERT INTO table VALUES (...) x n`` as a CTE, bound ``{prefix}{i}_{column}``."""
    columns = [c.name for c in table.c if c.name != "id"]
    rows: list[dict[str, Any]] = [
        {c: bindparam(f"{prefix}{i}_{c}") for c in columns} for i in range(n)
    ]
    return insert(table).values(rows).cte(prefix)


_UPDATE_WITH_INSERTS_SQL: dict[tuple[int, int], str] = {}


def _update_with_inserts_sql(dialect: Dialect, n_messages: int, n_findings: int) -> str:
    """PostgreSQL: the conversation's update carrying the inserts of ``n_messages`` messages
    and ``n_findings`` findings as data-modifying CTEs, one statement (every statement is a
    round trip to the server, and a small append is mostly round trips there). Built with Core
    and rendered once per shape (at most ``(_CTE_MAX_ROWS + 1) ** 2``), run as the driver's
    SQL; bound ``m{i}_{column}``, ``f{i}_{column}`` and the update's ``p_*``."""
    key = (n_messages, n_findings)
    sql = _UPDATE_WITH_INSERTS_SQL.get(key)
    if sql is None:
        statement: Any = _UPDATE_CONVERSATION
        if n_messages:
            statement = statement.add_cte(_rows_cte(_MESSAGES, n_messages, "m"))
        if n_findings:
            statement = statement.add_cte(_rows_cte(_FINDINGS, n_findings, "f"))
        compiled = statement.compile(dialect=dialect)
        if compiled.positional:  # pragma: no cover - psycopg's paramstyle is pyformat
            raise RuntimeError("expected a named paramstyle")
        sql = _UPDATE_WITH_INSERTS_SQL[key] = compiled.string
    return sql


_COMPACT = json.JSONEncoder(separators=(",", ":"))  # built once: json.dumps builds one a call


def _compact_json(value: Any) -> str:
    """JSON text as the engine's serializer writes JSON columns (no spaces)."""
    return _COMPACT.encode(value)


def _numbered(rows: Sequence[Mapping[str, Any]], prefix: str) -> dict[str, Any]:
    return {f"{prefix}{i}_{k}": v for i, row in enumerate(rows) for k, v in row.items()}


# The append's statements, as the driver runs them (``:name`` parameters; PostgreSQL's copies
# are converted to psycopg's ``%(name)s`` once). The tables and columns are the models' (and
# the Alembic migrations'); a test compares what these write with what the ORM reads.
_LOCK_SQL = """SELECT c.id, c.created_at, c.version, c.message_count, c.risk, c.alert,
 c.first_alert, c.suspect, c.participants,
 (SELECT r.id FROM api_reviews r WHERE r.conversation_id = c.id LIMIT 1),
 {duplicates},
 CASE WHEN c.id = :kept_id AND c.created_at = :kept_created_at AND c.version = :kept_version
  THEN NULL ELSE c.state END
FROM api_conversations c WHERE c.tenant_id = :tenant_id AND c.external_id = :external_id"""
_ONE_DUPLICATE = (
    "EXISTS (SELECT 1 FROM api_messages m WHERE m.conversation_id = c.id"
    " AND m.client_id = :client_id)"
)
_SEEN_SQL = """SELECT client_id FROM api_messages
WHERE conversation_id = :conversation_id AND client_id IN ({ids})"""
_INSERT_CONVERSATION_SQL = """INSERT INTO api_conversations
 (tenant_id, external_id, created_at, updated_at, version, message_count, risk, alert)
VALUES (:tenant_id, :external_id, :now, :now, 0, 0, 0.0, :no)
ON CONFLICT (tenant_id, external_id) DO NOTHING"""
_STATE_SQL = "SELECT state FROM api_conversations WHERE id = :conversation_id"
_VERSION_SQL = "SELECT version, created_at FROM api_conversations WHERE id = :conversation_id"
_IDEMPOTENT_SQL = """SELECT request_digest, response FROM api_idempotent_appends
WHERE conversation_id = :conversation_id AND key = :key"""
_INSERT_MESSAGE_SQL = """INSERT INTO api_messages
 (conversation_id, position, client_id, author, text, time, risk, received_at)
VALUES (:conversation_id, :position, :client_id, :author, :text, :time, :risk, :received_at)"""
_INSERT_FINDING_SQL = """INSERT INTO api_findings
 (conversation_id, message, tactic, score, evidence, start, "end", author)
VALUES (:conversation_id, :message, :tactic, :score, :evidence, :start, :end, :author)"""
_UPDATE_SQL = """UPDATE api_conversations SET state = :p_state,
 message_count = :p_message_count, risk = :p_risk, alert = :p_alert, suspect = :p_suspect,
 first_alert = :p_first_alert, participants = :p_participants, updated_at = :p_updated_at,
 version = :p_version
WHERE id = :conversation_id"""
_INSERT_IDEMPOTENT_SQL = """INSERT INTO api_idempotent_appends
 (conversation_id, key, request_digest, response, created_at)
VALUES (:conversation_id, :key, :request_digest, :response, :now)"""
_ALL_FINDINGS_SQL = """SELECT tactic, message, score, evidence, start, "end"
FROM api_findings WHERE conversation_id = :conversation_id ORDER BY message, id"""
_INSERT_REVIEW_SQL = """INSERT INTO api_reviews
 (id, tenant_id, conversation_id, external_id, message, risk, suspect, tactics, status,
  created_at)
VALUES (:id, :tenant_id, :conversation_id, :external_id, :message, :risk, :suspect, :tactics,
 'pending', :now)"""
_INSERT_EVENT_SQL = """INSERT INTO api_webhook_events
 (id, tenant_id, conversation_id, type, payload, status, attempts, next_attempt_at, created_at)
VALUES (:id, :tenant_id, :conversation_id, :type, :payload, 'pending', 0, :now, :now)"""


class _Statements:
    """The append's SQL for one dialect (see above)."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres
        convert = pyformat if postgres else str
        lock = _LOCK_SQL + (" FOR UPDATE OF c" if postgres else "")
        self.lock = (
            convert(lock.format(duplicates="0")),
            convert(lock.format(duplicates=_ONE_DUPLICATE)),
        )
        self.read = (  # the same row, not locked (planning before the lock)
            convert(_LOCK_SQL.format(duplicates="0")),
            convert(_LOCK_SQL.format(duplicates=_ONE_DUPLICATE)),
        )
        # PostgreSQL has no last row id: the new row's id comes back (SQLite: ``lastrowid``,
        # which works with SQLite older than RETURNING, 3.35).
        self.insert_conversation = convert(
            _INSERT_CONVERSATION_SQL + (" RETURNING id, created_at" if postgres else "")
        )
        self.state = convert(_STATE_SQL)
        self.version_locked = convert(_VERSION_SQL + (" FOR UPDATE" if postgres else ""))
        self.idempotent = convert(_IDEMPOTENT_SQL)
        self.insert_message = convert(_INSERT_MESSAGE_SQL)
        self.insert_finding = convert(_INSERT_FINDING_SQL)
        self.update = convert(_UPDATE_SQL)
        self.insert_idempotent = convert(_INSERT_IDEMPOTENT_SQL)
        self.all_findings = convert(_ALL_FINDINGS_SQL)
        self.insert_review = convert(_INSERT_REVIEW_SQL)
        self.insert_event = convert(_INSERT_EVENT_SQL)
        self._seen: dict[int, str] = {}
        self._convert = convert

    def seen(self, n: int) -> str:
        """The client ids among ``c0`` ... ``c{n-1}`` already stored in the conversation."""
        sql = self._seen.get(n)
        if sql is None:
            ids = ", ".join(f":c{i}" for i in range(n))
            sql = self._seen[n] = self._convert(_SEEN_SQL.format(ids=ids))
        return sql


_STATEMENTS = {False: _Statements(False), True: _Statements(True)}


class AppendStore:
    """Where this process writes appends: the engine's driver connections
    (:class:`~groomwatch.db.raw.RawConnections`) and the append's prebuilt SQL for its dialect.

    The append is the service's hot path, a few small statements hundreds of times a second:
    through the ORM session and Core's statement machinery it cost more CPU than the statements
    (``benchmarks/bench_api_append.py``), so it runs them on the driver's connection. The values
    are converted as SQLAlchemy's column types would (JSON as compact text, SQLite's date-times
    as its text form), so the ORM reads these rows like any other."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self.sql = _STATEMENTS[self.postgres]
        # PostgreSQL: autocommit, so that a single statement is its own transaction (no BEGIN
        # and COMMIT round trips); transactions begin explicitly (write_transaction).
        self.connections = RawConnections(engine, autocommit=self.postgres)
        self.writer_fd = None if self.postgres else writer_lock_fd(engine.url.database)

    def close(self) -> None:
        self.connections.close()

    def time(self, value: datetime) -> Any:
        """A date-time as the column stores it: SQLAlchemy keeps SQLite's as naive UTC text."""
        if self.postgres:
            return value
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

    @staticmethod
    def from_json(value: Any) -> Any:
        """A JSON column's value: psycopg decodes it, sqlite3 gives the text."""
        return json.loads(value) if isinstance(value, str | bytes) else value

    @contextmanager
    def write_transaction(self, db: Any) -> Iterator[None]:
        """A write transaction on the driver's connection ``db`` that holds the conversation's
        lock until the block commits (PostgreSQL: the block's ``FOR UPDATE``; SQLite: the
        writers' queue, then ``BEGIN IMMEDIATE``, see :mod:`~groomwatch.server.transactions`).
        Whatever the block does not commit is rolled back."""
        if self.postgres:
            db.execute("BEGIN")  # the connection is in autocommit (see _write_unlocked)
            try:
                yield
            finally:
                if db.info.transaction_status != 0:
                    db.rollback()
            return
        with sqlite_writer(self.writer_fd):
            db.execute("BEGIN IMMEDIATE")
            try:
                yield
            finally:
                if db.in_transaction:
                    db.rollback()


def _ident(detector: Any, tenant: Tenant, external_id: str) -> tuple[Any, ...]:
    """A conversation's name in the :class:`MonitorCache` (per model: a new model restores)."""
    return (detector.fingerprint, tenant.id, external_id)


def _lock_params(
    tenant_id: int, external_id: str, client_ids: Sequence[str], kept: tuple[Any, ...] | None
) -> dict[str, Any]:
    kept_id, kept_created_at, kept_version = kept if kept is not None else (-1, None, -1)
    params: dict[str, Any] = {
        "tenant_id": tenant_id,
        "external_id": external_id,
        "kept_id": kept_id,
        "kept_created_at": kept_created_at,
        "kept_version": kept_version,
    }
    if len(client_ids) == 1:
        params["client_id"] = client_ids[0]
    return params


def _read_row(
    store: AppendStore,
    db: Any,
    tenant_id: int,
    external_id: str,
    client_ids: Sequence[str],
    *,
    kept: tuple[Any, ...] | None = None,
    lock: bool = True,
) -> _Locked | None:
    """The conversation's row (locked on PostgreSQL, with ``lock``), its review item's id,
    whether the one client id is already stored (two or more: assumed, :func:`_compute` reads
    which) and its stored state unless it is at ``kept``, the row ``(id, created_at, version)``
    this process keeps a detector for (:meth:`MonitorCache.expected`): one statement."""
    sql = (store.sql.lock if lock else store.sql.read)[len(client_ids) == 1]
    row = db.execute(sql, _lock_params(tenant_id, external_id, client_ids, kept)).fetchone()
    if row is None:
        return None
    participants = store.from_json(row[8])
    return _Locked(
        id=row[0],
        created_at=row[1],
        version=row[2],
        message_count=row[3],
        risk=row[4],
        alert=bool(row[5]),
        first_alert=row[6],
        suspect=row[7],
        participants=participants,
        review=row[9],
        has_duplicates=len(client_ids) > 1 or bool(row[10]),
        state=row[11],
        state_read=kept is None or (row[0], row[1], row[2]) != kept,
    )


def _new_row(row_id: int, created_at: Any) -> _Locked:
    """A conversation row as just inserted (no message, no state, version 0)."""
    return _Locked(
        id=row_id,
        created_at=created_at,
        version=0,
        message_count=0,
        risk=0.0,
        alert=False,
        first_alert=None,
        suspect=None,
        participants=None,
        review=None,
        has_duplicates=False,
    )


def _lock(
    store: AppendStore,
    db: Any,
    tenant_id: int,
    external_id: str,
    client_ids: Sequence[str],
    kept: tuple[Any, ...] | None,
) -> _Locked:
    """The conversation's row, created if new, locked until the transaction ends (called inside
    :meth:`AppendStore.write_transaction`): one statement when it exists."""
    conv = _read_row(store, db, tenant_id, external_id, client_ids, kept=kept)
    if conv is None:
        now = store.time(utcnow())
        cursor = db.execute(
            store.sql.insert_conversation,
            {"tenant_id": tenant_id, "external_id": external_id, "now": now, "no": False},
        )
        if store.postgres:
            created = cursor.fetchone()
        else:
            created = (cursor.lastrowid, now) if cursor.rowcount == 1 else None
        if created is not None:  # inserted by this transaction, so locked by it
            return _new_row(created[0], created[1])
        # another transaction inserted it first (and has committed: the insert waited for it)
        conv = _read_row(store, db, tenant_id, external_id, client_ids, kept=kept)
        if conv is None:  # pragma: no cover - inserted or found by the statement above
            raise RuntimeError("conversation row missing after insert")
    return conv


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
    store: AppendStore,
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
    with store.connections.connection() as db:
        if idempotency_key is None:
            planned = _plan_before_lock(
                store, db, detector, tenant, external_id, messages, participants, cache
            )
            if planned is not None and store.postgres and _writes_unlocked(planned):
                result = _write_unlocked(store, db, detector, tenant, external_id, planned, cache)
                if result is not None:
                    return result
                metrics.REPLANNED.inc()  # another writer came first: planned again, locked
            elif planned is not None:
                return _write_planned(
                    store, db, detector, tenant, external_id, messages, participants, cache, planned
                )
        with store.write_transaction(db):
            return _append(
                store,
                db,
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
    store: AppendStore,
    db: Any,
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
    with store.write_transaction(db):
        conv = planned.conv
        now_at = db.execute(store.sql.version_locked, {"conversation_id": conv.id}).fetchone()
        if now_at is not None and (now_at[0], now_at[1]) == (conv.version, conv.created_at):
            return _write(store, db, detector, tenant, external_id, planned, None, "", cache)
        metrics.REPLANNED.inc()  # another writer came first
        return _append(
            store, db, detector, tenant, external_id, messages, None, "", declared, cache
        )


def _plan_before_lock(
    store: AppendStore,
    db: Any,
    detector: Any,
    tenant: Tenant,
    external_id: str,
    messages: Sequence[IncomingMessage],
    declared: Sequence[Participant],
    cache: MonitorCache | None,
) -> _Plan | None:
    """Plan the append from the conversation as last committed, before taking any lock (SQLite:
    None for a new conversation, which is created under the lock; PostgreSQL creates it).

    SQLite has one writer at a time for the whole database, so whatever an append does while
    holding the write lock, every other append of every process waits for. Planning (the
    detector's update, the rows to write) is most of an append's work; done here, outside the
    lock, the writers' turns shrink to the writes themselves and several workers' appends
    overlap. The plan is written only if the conversation's version (and creation time) under
    the lock is still the one it was computed from; otherwise the append is planned again under
    the lock, so concurrent appends to one conversation stay serialised exactly as before.
    (The reads run outside a transaction, each on the last commit: a state read newer than the
    row only makes the version check fail, and the append planned again.)"""
    client_ids = [m.client_id for m in messages if m.client_id is not None]
    kept = cache.expected(_ident(detector, tenant, external_id)) if cache is not None else None
    conv = _read_row(store, db, tenant.id, external_id, client_ids, kept=kept, lock=False)
    if conv is None:
        if not store.postgres:
            return None
        # PostgreSQL: the conversation is created on its own (the connection is in
        # autocommit), then planned like any other; creating it in the locked append
        # took six round trips. Should the append then fail, an empty conversation is left.
        created = db.execute(
            store.sql.insert_conversation,
            {
                "tenant_id": tenant.id,
                "external_id": external_id,
                "now": utcnow(),
                "no": False,
            },
        ).fetchone()
        if created is not None:
            conv = _new_row(created[0], created[1])
        else:  # created by another append meanwhile
            conv = _read_row(store, db, tenant.id, external_id, client_ids, lock=False)
            if conv is None:  # pragma: no cover - it exists: the insert found it
                return None
    return _compute(
        store, db, detector, tenant, external_id, conv, messages, client_ids, declared, cache
    )


def _append(
    store: AppendStore,
    db: Any,
    detector: Any,
    tenant: Tenant,
    external_id: str,
    messages: Sequence[IncomingMessage],
    idempotency_key: str | None,
    digest: str,
    declared: Sequence[Participant],
    cache: MonitorCache | None,
) -> AppendResult:
    client_ids = [m.client_id for m in messages if m.client_id is not None]
    kept = cache.expected(_ident(detector, tenant, external_id)) if cache is not None else None
    conv = _lock(store, db, tenant.id, external_id, client_ids, kept)

    if idempotency_key is not None:
        prior = db.execute(
            store.sql.idempotent, {"conversation_id": conv.id, "key": idempotency_key}
        ).fetchone()
        if prior is not None:
            db.rollback()
            if prior[0] != digest:
                raise IdempotencyConflict("this Idempotency-Key was used for a different request")
            return AppendResult.from_dict(store.from_json(prior[1]), replayed=True)

    plan = _compute(
        store, db, detector, tenant, external_id, conv, messages, client_ids, declared, cache
    )
    return _write(store, db, detector, tenant, external_id, plan, idempotency_key, digest, cache)


@dataclass(slots=True)
class _Plan:
    """What an append will write: computed from the conversation's row as read (``conv``)."""

    conv: _Locked
    ident: tuple[Any, ...]  # the conversation's name in the MonitorCache
    monitor: Monitor
    stored_participants: list[dict[str, Any]] | None
    participants_changed: bool
    had_alert: bool
    at: Any  # the append's time, as the columns store it
    accepted: int
    duplicates: int
    new_findings: list[dict[str, Any]]
    message_rows: list[dict[str, Any]]
    finding_rows: list[dict[str, Any]]
    update_: Any


def _compute(
    store: AppendStore,
    db: Any,
    detector: Any,
    tenant: Tenant,
    conv_external_id: str,
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
        params: dict[str, Any] = {f"c{i}": c for i, c in enumerate(client_ids)}
        params["conversation_id"] = conv.id
        seen = {row[0] for row in db.execute(store.sql.seen(len(client_ids)), params)}

    policy = tenant_policy(detector, tenant)
    participants_changed = False
    stored_participants = conv.participants
    if declared:
        merged = merge_participants(conv.participants, declared)
        participants_changed = merged != (conv.participants or [])
        stored_participants = merged
    ident = _ident(detector, tenant, conv_external_id)
    row_now = (conv.id, conv.created_at, conv.version)
    monitor = cache.take(ident, row_now) if cache is not None else None
    if monitor is not None and participants_changed:
        monitor = None  # restore below, with the new roles
    if monitor is None:
        state: Mapping[str, Any] | None = None  # version 0: no message yet, no state
        if conv.state_read:  # brought by the row's read
            state = store.from_json(conv.state)
        elif conv.version:  # expected to be kept here, but taken meanwhile
            row = db.execute(store.sql.state, {"conversation_id": conv.id}).fetchone()
            state = None if row is None else store.from_json(row[0])
        everyone = [_participant(p) for p in stored_participants or ()]
        if state is not None and participants_changed:
            state = _with_roles(state, everyone)
        monitor = detector.monitor(policy, state=state, participants=everyone)
    else:
        monitor.policy = policy  # the tenant's settings now, as a restored monitor would have
    had_alert = conv.first_alert is not None
    now = utcnow()
    received_at = store.time(now)
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
                "received_at": received_at,
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
        ident=ident,
        monitor=monitor,
        stored_participants=stored_participants,
        participants_changed=participants_changed,
        had_alert=had_alert,
        at=received_at,
        accepted=accepted,
        duplicates=duplicates,
        new_findings=new_findings,
        message_rows=message_rows,
        finding_rows=finding_rows,
        update_=update_,
    )


def _advance(plan: _Plan) -> tuple[int, bool, dict[str, Any] | None]:
    """The conversation after ``plan`` (``plan.conv`` is updated): its new version, whether the
    early warning fires now for the first time, and the values of its row's update (None when
    there is nothing to update, e.g. only duplicates)."""
    conv, update_ = plan.conv, plan.update_
    fired = False
    version = conv.version
    if update_ is not None:
        conv.message_count += plan.accepted
        conv.risk, conv.alert, conv.suspect = (
            float(update_.risk),
            bool(update_.alert),
            update_.suspect,
        )
        if not plan.had_alert and update_.first_alert is not None:
            fired = True
            conv.first_alert = int(update_.first_alert)
    if update_ is None and not plan.participants_changed:
        return version, fired, None
    # New roles change the detector's state even without new messages: written (and the
    # version moved on) like an append, so every process restores the same detector.
    version += 1
    values = {
        "conversation_id": conv.id,
        "p_state": plan.monitor.state_json(),
        "p_message_count": conv.message_count,
        "p_risk": conv.risk,
        "p_alert": conv.alert,
        "p_suspect": conv.suspect,
        "p_first_alert": conv.first_alert,
        "p_participants": _compact_json(plan.stored_participants),
        "p_updated_at": plan.at,
        "p_version": version,
    }
    return version, fired, values


def _result(plan: _Plan, external_id: str, fired: bool, review_id: str | None) -> AppendResult:
    conv = plan.conv
    return AppendResult(
        id=external_id,
        message_count=conv.message_count,
        accepted=plan.accepted,
        duplicates=plan.duplicates,
        risk=conv.risk,
        alert=conv.alert,
        fired=fired,
        first_alert=conv.first_alert,
        suspect=conv.suspect,
        findings=tuple(plan.new_findings),
        review=review_id,
        steps=platform_steps() if conv.first_alert is not None else (),
    )


def _written(plan: _Plan, version: int, fired: bool, cache: MonitorCache | None) -> None:
    """After the commit: the detector back into ``cache`` under the version written; metrics."""
    if cache is not None:
        cache.put(plan.ident, (plan.conv.id, plan.conv.created_at, version), plan.monitor)
    metrics.MESSAGES.inc(plan.accepted)
    if plan.duplicates:
        metrics.DUPLICATES.inc(plan.duplicates)
    if fired:
        metrics.ALERTS.inc()


def _fits_one_statement(plan: _Plan) -> bool:
    return len(plan.message_rows) <= _CTE_MAX_ROWS and len(plan.finding_rows) <= _CTE_MAX_ROWS


def _write(
    store: AppendStore,
    db: Any,
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
    sql = store.sql
    version, fired, values = _advance(plan)
    message_rows, finding_rows = plan.message_rows, plan.finding_rows
    # One statement per table, whatever the batch size. On PostgreSQL the inserts ride with the
    # conversation's update, as data-modifying CTEs of one statement: every statement is a
    # round trip to the server, and a small append is mostly round trips there.
    if values is not None and store.postgres and _fits_one_statement(plan):
        db.execute(
            _update_with_inserts_sql(store.engine.dialect, len(message_rows), len(finding_rows)),
            _numbered(message_rows, "m") | _numbered(finding_rows, "f") | values,
        )
    else:
        if message_rows:
            db.cursor().executemany(sql.insert_message, message_rows)
        if finding_rows:
            db.cursor().executemany(sql.insert_finding, finding_rows)
        if values is not None:
            db.execute(sql.update, values)
    review_id = plan.conv.review
    if fired:
        review_id = _raise_alert(store, db, tenant, plan.conv, external_id, detector, plan.at)
    result = _result(plan, external_id, fired, review_id)
    if idempotency_key is not None:
        db.execute(
            sql.insert_idempotent,
            {
                "conversation_id": plan.conv.id,
                "key": idempotency_key,
                "request_digest": digest,
                "response": _compact_json(result.to_dict()),
                "now": plan.at,
            },
        )
    db.commit()
    _written(plan, version, fired, cache)
    return result


def _writes_unlocked(plan: _Plan) -> bool:
    """PostgreSQL: whether ``plan`` can be written by one version-checked statement outside a
    transaction (:func:`_write_unlocked`): a batch that fits one statement (a first alert's
    review item and webhook event ride in it too)."""
    return _fits_one_statement(plan)


_UNLOCKED_SQL: dict[tuple[int, int, bool, bool], str] = {}
_INSERT_IF_UPDATED = (
    "INSERT INTO {table} ({names}) SELECT v.* FROM u, (VALUES {rows}) AS v({names})"
)
_WITH = "WITH {parts} SELECT count(*) FROM u"
_PG_TYPES = {
    "conversation_id": "INTEGER",
    "position": "INTEGER",
    "client_id": "VARCHAR",
    "author": "VARCHAR",
    "text": "TEXT",
    "time": "VARCHAR",
    "risk": "DOUBLE PRECISION",
    "received_at": "TIMESTAMP WITH TIME ZONE",
    "message": "INTEGER",
    "tactic": "VARCHAR",
    "score": "DOUBLE PRECISION",
    "evidence": "TEXT",
    "start": "INTEGER",
    "end": "INTEGER",
    # a first alert's review item and webhook event
    "id": "VARCHAR",
    "tenant_id": "INTEGER",
    "external_id": "VARCHAR",
    "suspect": "VARCHAR",
    "tactics": "JSON",
    "status": "VARCHAR",
    "created_at": "TIMESTAMP WITH TIME ZONE",
    "type": "VARCHAR",
    "payload": "JSON",
    "attempts": "INTEGER",
    "next_attempt_at": "TIMESTAMP WITH TIME ZONE",
}
_MESSAGE_COLUMNS = (
    "conversation_id",
    "position",
    "client_id",
    "author",
    "text",
    "time",
    "risk",
    "received_at",
)
_FINDING_COLUMNS = (
    "conversation_id",
    "message",
    "tactic",
    "score",
    "evidence",
    "start",
    "end",
    "author",
)


_REVIEW_COLUMNS = (
    "id",
    "tenant_id",
    "conversation_id",
    "external_id",
    "message",
    "risk",
    "suspect",
    "tactics",
    "status",
    "created_at",
)
_EVENT_COLUMNS = (
    "id",
    "tenant_id",
    "conversation_id",
    "type",
    "payload",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
)


def _review_row(review: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`_alert_rows`'s review item as the columns of :data:`_REVIEW_COLUMNS`."""
    row = {k: v for k, v in review.items() if k != "now"}
    return row | {"status": "pending", "created_at": review["now"]}


def _event_row(event: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`_alert_rows`'s webhook event as the columns of :data:`_EVENT_COLUMNS`."""
    row = {k: v for k, v in event.items() if k != "now"}
    return row | {
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": event["now"],
        "created_at": event["now"],
    }


def _rows_if_updated(table: str, columns: Sequence[str], n: int, prefix: str) -> str:
    """``INSERT INTO table`` of ``n`` rows bound ``{prefix}{i}_{column}``, as many times as the
    CTE ``u`` has rows (once, or not at all when the version check failed)."""
    names = ", ".join(f'"{c}"' for c in columns)
    rows = ", ".join(
        "(" + ", ".join(f"CAST(%({prefix}{i}_{c})s AS {_PG_TYPES[c]})" for c in columns) + ")"
        for i in range(n)
    )
    # Table and column names are this module's constants; values are only ever bound.
    return _INSERT_IF_UPDATED.format(table=table, names=names, rows=rows)


def _unlocked_sql(
    n_messages: int, n_findings: int, review: bool = False, event: bool = False
) -> str:
    """PostgreSQL: the conversation's update, only if its row is still at the version (and
    creation time) the plan was made from, with the inserts of its messages and findings (and
    of a first alert's review item and webhook event) made only if it was: one statement,
    atomic on its own. Answers the number of rows updated."""
    key = (n_messages, n_findings, review, event)
    sql = _UNLOCKED_SQL.get(key)
    if sql is None:
        parts = [
            "u AS (UPDATE api_conversations SET state = %(p_state)s,"
            " message_count = %(p_message_count)s, risk = %(p_risk)s, alert = %(p_alert)s,"
            " suspect = %(p_suspect)s, first_alert = %(p_first_alert)s,"
            " participants = %(p_participants)s, updated_at = %(p_updated_at)s,"
            " version = %(p_version)s WHERE id = %(conversation_id)s"
            " AND version = %(p_planned_version)s AND created_at = %(p_created_at)s"
            " RETURNING id)"
        ]
        if n_messages:
            rows = _rows_if_updated("api_messages", _MESSAGE_COLUMNS, n_messages, "m")
            parts.append(f"m AS ({rows})")
        if n_findings:
            rows = _rows_if_updated("api_findings", _FINDING_COLUMNS, n_findings, "f")
            parts.append(f"f AS ({rows})")
        if review:
            rows = _rows_if_updated("api_reviews", _REVIEW_COLUMNS, 1, "r")
            parts.append(f"r AS ({rows})")
        if event:
            rows = _rows_if_updated("api_webhook_events", _EVENT_COLUMNS, 1, "e")
            parts.append(f"e AS ({rows})")
        sql = _UNLOCKED_SQL[key] = _WITH.format(parts=", ".join(parts))
    return sql


def _write_unlocked(
    store: AppendStore,
    db: Any,
    detector: Any,
    tenant: Tenant,
    external_id: str,
    plan: _Plan,
    cache: MonitorCache | None,
) -> AppendResult | None:
    """PostgreSQL: write ``plan`` with one statement outside a transaction (the connection is
    in autocommit), which applies it only if the conversation is still at the version it was
    planned from: None (nothing written) if another append came first.

    Holding the conversation's row lock from the read to the commit costs four round trips to
    the server (``BEGIN``, ``SELECT ... FOR UPDATE``, the writes, ``COMMIT``); this costs one
    after the read, and the row is locked only while the statement runs. The version check
    keeps appends to one conversation serialised exactly as the lock does. A first alert reads
    the stored findings first (those of the planned version: if another append came in
    between, the version check fails and nothing is written), and its review item and webhook
    event are inserted by the same statement, so they are committed with the append or not at
    all, as under the lock."""
    planned_version, created_at = plan.conv.version, plan.conv.created_at
    version, fired, values = _advance(plan)
    review_id = plan.conv.review
    if values is not None:
        values["p_planned_version"] = planned_version
        values["p_created_at"] = created_at
        params = _numbered(plan.message_rows, "m") | _numbered(plan.finding_rows, "f") | values
        review = event = None
        if fired:
            findings = _stored_findings(store, db, plan.conv.id)
            findings += [
                _finding_dict(
                    f["tactic"], f["message"], f["score"], f["evidence"], f["start"], f["end"]
                )
                for f in plan.finding_rows
            ]
            findings.sort(key=lambda f: int(f["message"]))  # stable: as ORDER BY message, id
            review, event = _alert_rows(tenant, plan.conv, external_id, detector, plan.at, findings)
            params |= _numbered([_review_row(review)], "r")
            if event is not None:
                params |= _numbered([_event_row(event)], "e")
            review_id = str(review["id"])
        sql = _unlocked_sql(
            len(plan.message_rows), len(plan.finding_rows), review is not None, event is not None
        )
        row = db.execute(sql, params).fetchone()
        if row is None or row[0] != 1:
            return None
    _written(plan, version, fired, cache)
    return _result(plan, external_id, fired, review_id)


def _alert_rows(
    tenant: Tenant,
    conv: _Locked,
    external_id: str,
    detector: Any,
    at: Any,
    findings: list[dict[str, Any]],
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The rows of a first alert: its review item and (when the tenant has a webhook) its
    webhook event, from the conversation after the append and all its ``findings`` in order
    (``tactic``, ``message``, ``score``, ``evidence``, ``start``, ``end``); ``at``: the
    append's time as the columns store it."""
    tactics = sorted({f["tactic"] for f in findings})
    review_id = new_public_id()
    review = {
        "id": review_id,
        "tenant_id": tenant.id,
        "conversation_id": conv.id,
        "external_id": external_id,
        "message": conv.first_alert if conv.first_alert is not None else 0,
        "risk": conv.risk,
        "suspect": conv.suspect,
        "tactics": _compact_json(tactics),
        "now": at,
    }
    if not (tenant.webhook_url and tenant.webhook_secret):  # as webhooks.enqueue: no event
        return review, None
    event_id = new_public_id()
    data = {
        "conversation": external_id,
        "review": review_id,
        "risk": round(conv.risk, 4),
        "first_alert": conv.first_alert,
        "message_count": conv.message_count,
        "suspect": conv.suspect,
        "tactics": tactics,
        "findings": findings,
        "policy": tenant_policy(detector, tenant).to_dict(),
        "steps": list(platform_steps()),
        "notice": HUMAN_REVIEW_NOTICE,
    }
    event = {
        "id": event_id,
        "tenant_id": tenant.id,
        "conversation_id": conv.id,
        "type": ALERT_EVENT,
        "payload": _compact_json(event_payload(event_id, ALERT_EVENT, tenant, data)),
        "now": at,
    }
    return review, event


def _finding_dict(
    tactic: str, message: int, score: float, evidence: str, start: int, end: int
) -> dict[str, Any]:
    """A finding as an alert's webhook event carries it."""
    return {
        "tactic": tactic,
        "message": message,
        "score": round(score, 4),
        "evidence": evidence,
        "start": start,
        "end": end,
    }


def _stored_findings(store: AppendStore, db: Any, conversation_id: int) -> list[dict[str, Any]]:
    """The conversation's stored findings, in order (message, then as stored)."""
    return [
        _finding_dict(*row)
        for row in db.execute(store.sql.all_findings, {"conversation_id": conversation_id})
    ]


def _raise_alert(
    store: AppendStore,
    db: Any,
    tenant: Tenant,
    conv: _Locked,
    external_id: str,
    detector: Any,
    at: Any,
) -> str:
    """Queue the review item and the webhook event (same transaction as the append, which has
    written its findings); ``at``: the append's time as the columns store it."""
    findings = _stored_findings(store, db, conv.id)
    review, event = _alert_rows(tenant, conv, external_id, detector, at, findings)
    db.execute(store.sql.insert_review, review)
    if event is not None:
        db.execute(store.sql.insert_event, event)
    return str(review["id"])


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
