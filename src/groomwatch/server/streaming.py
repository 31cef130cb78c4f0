"""Streamed conversations: append messages, read the state, erase.

An append is one transaction that holds the conversation's lock from the first read to the
commit, so appends to one conversation arriving at different threads, processes or hosts are
applied one after the other, each on the state the previous one left:

- PostgreSQL: ``INSERT ... ON CONFLICT DO NOTHING`` (the conversation may be new), then
  ``SELECT ... FOR UPDATE`` on its row;
- SQLite: ``BEGIN IMMEDIATE`` (the database's write lock, taken before the first read).

Within it: the streaming detector is restored from the stored state, fed the new messages, and
the messages, their risk (the risk history), the findings and the new state are written. When the
early warning fires for the first time, a :class:`~groomwatch.server.models.Review` is queued and a
webhook event is written to the outbox, in the same commit: an acknowledged append has its alert
stored, and no alert exists without its messages.

Retries are safe: a message carrying a client ``id`` already stored is skipped, and an append
made with an ``Idempotency-Key`` already seen returns the first answer without applying anything.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from groomwatch.advice import next_steps
from groomwatch.conversation import Message
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


def request_digest(messages: Sequence[IncomingMessage]) -> str:
    canonical = json.dumps(
        [[m.client_id, m.author, m.text, m.time] for m in messages], separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def tenant_policy(detector: Any, tenant: Tenant) -> Any:
    """The tenant's early-warning policy: its own settings over the model's defaults."""
    overrides = tenant.policy_overrides()
    if not overrides:
        return detector.default_policy
    merged = {**detector.default_policy.to_dict(), **overrides}
    return type(detector.default_policy).from_dict(merged)


def _lock(session: Session, tenant_id: int, external_id: str) -> StreamedConversation:
    """The conversation's row, created if new, locked until the transaction ends (called inside
    :func:`~groomwatch.server.transactions.write_transaction`)."""
    postgres = is_postgres(session)
    query = select(StreamedConversation).where(
        StreamedConversation.tenant_id == tenant_id,
        StreamedConversation.external_id == external_id,
    )
    if postgres:
        query = query.with_for_update()
    query = query.execution_options(populate_existing=True)
    conv = session.scalars(query).one_or_none()
    if conv is not None:  # the usual case: one statement
        return conv
    now = utcnow()
    insert = postgresql.insert if postgres else sqlite.insert
    session.execute(
        insert(StreamedConversation)
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
    return session.scalars(query).one()


def check_limits(messages: Sequence[IncomingMessage], *, max_chars: int) -> None:
    for i, m in enumerate(messages):
        if len(m.text) > max_chars:
            raise RecordError(f"longer than {max_chars} characters", field=f"messages[{i}].text")


def append_messages(
    session: Session,
    detector: Any,
    tenant: Tenant,
    external_id: str,
    messages: Sequence[IncomingMessage],
    *,
    idempotency_key: str | None = None,
) -> AppendResult:
    """Apply ``messages`` to the conversation (see the module's docstring) and commit."""
    digest = request_digest(messages)
    with write_transaction(session), session.no_autoflush:
        return _append(session, detector, tenant, external_id, messages, idempotency_key, digest)


def _append(
    session: Session,
    detector: Any,
    tenant: Tenant,
    external_id: str,
    messages: Sequence[IncomingMessage],
    idempotency_key: str | None,
    digest: str,
) -> AppendResult:
    conv = _lock(session, tenant.id, external_id)

    if idempotency_key is not None:
        prior = session.scalar(
            select(IdempotentAppend).where(
                IdempotentAppend.conversation_id == conv.id,
                IdempotentAppend.key == idempotency_key,
            )
        )
        if prior is not None:
            session.rollback()
            if prior.request_digest != digest:
                raise IdempotencyConflict("this Idempotency-Key was used for a different request")
            return AppendResult.from_dict(prior.response, replayed=True)

    client_ids = [m.client_id for m in messages if m.client_id is not None]
    seen: set[str] = set()
    if client_ids:
        seen = set(
            session.scalars(
                select(StoredMessage.client_id).where(
                    StoredMessage.conversation_id == conv.id,
                    StoredMessage.client_id.in_(client_ids),
                )
            )
        )

    monitor = detector.monitor(tenant_policy(detector, tenant), state=conv.state)
    had_alert = conv.first_alert is not None
    now = utcnow()
    accepted = duplicates = 0
    new_findings: list[dict[str, Any]] = []
    message_rows: list[dict[str, Any]] = []
    finding_rows: list[dict[str, Any]] = []
    update: Any = None
    for m in messages:
        if m.client_id is not None:
            if m.client_id in seen:
                duplicates += 1
                continue
            seen.add(m.client_id)
        update = monitor.update(Message(text=m.text, author=m.author, time=m.time))
        message_rows.append(
            {
                "conversation_id": conv.id,
                "position": conv.message_count + accepted,
                "client_id": m.client_id,
                "author": m.author,
                "text": m.text,
                "time": m.time,
                "risk": float(update.risk),
                "received_at": now,
            }
        )
        for f in update.findings:
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
    # Core bulk inserts: one statement per table, whatever the batch size.
    if message_rows:
        session.execute(insert(StoredMessage), message_rows)
    if finding_rows:
        session.execute(insert(StoredFinding), finding_rows)

    fired = False
    review_id: str | None = None
    if update is not None:
        conv.state = monitor.state_dict()
        conv.message_count += accepted
        conv.risk = float(update.risk)
        conv.alert = bool(update.alert)
        conv.suspect = update.suspect
        conv.updated_at = now
        conv.version += 1
        if not had_alert and update.first_alert is not None:
            fired = True
            conv.first_alert = int(update.first_alert)
            review_id = _raise_alert(session, tenant, conv, detector)
    if review_id is None and conv.first_alert is not None:
        review_id = session.scalar(select(Review.id).where(Review.conversation_id == conv.id))

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
        session.add(
            IdempotentAppend(
                conversation_id=conv.id,
                key=idempotency_key,
                request_digest=digest,
                response=result.to_dict(),
            )
        )
    session.commit()
    metrics.MESSAGES.inc(accepted)
    if duplicates:
        metrics.DUPLICATES.inc(duplicates)
    if fired:
        metrics.ALERTS.inc()
    return result


def _raise_alert(
    session: Session, tenant: Tenant, conv: StreamedConversation, detector: Any
) -> str:
    """Queue the review item and the webhook event (same transaction as the append)."""
    session.flush()
    all_findings = session.scalars(
        select(StoredFinding)
        .where(StoredFinding.conversation_id == conv.id)
        .order_by(StoredFinding.message, StoredFinding.id)
    ).all()
    tactics = sorted({f.tactic for f in all_findings})
    review = Review(
        tenant_id=tenant.id,
        conversation_id=conv.id,
        external_id=conv.external_id,
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
            "conversation": conv.external_id,
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
