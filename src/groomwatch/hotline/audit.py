"""The append-only, hash-chained audit log of every view, change and export.

Each :class:`~groomwatch.hotline.models.AuditEntry` carries ``prev_hash`` (the previous entry's
hash) and ``hash`` = SHA-256 of its own fields and ``prev_hash`` in canonical JSON, so that
:func:`verify` finds any edited, deleted or reordered entry: an edit changes the entry's hash, a
deletion or reordering breaks the link to the previous one. The first entry links to
:data:`GENESIS`. Deleting entries at the very end cannot be seen from the chain alone: keep the
head hash that ``groomwatch audit verify`` prints somewhere else (a ticket, an e-mail to the
supervisor) and pass it back with ``--expect-head``.

Entries are written in the same transaction as the action they record, so that an action and its
record commit together. On PostgreSQL an advisory lock serialises writers; everywhere the unique
``seq`` and ``prev_hash`` columns make a forked chain impossible (a racing writer fails instead).

Details never hold personal data: ids, statuses, hashes and counts only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from groomwatch.hotline.models import AuditEntry
from groomwatch.hotline.workflow import as_utc, utcnow

GENESIS = "0" * 64
_PG_LOCK_KEY = 0x67726F6F6D  # "groom": the advisory lock that serialises audit writers


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(
    *,
    seq: int,
    at: str,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    details: str,
    prev_hash: str,
) -> str:
    """The hash of one entry (all fields and the previous entry's hash)."""
    payload = _canonical(
        {
            "seq": seq,
            "at": at,
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "details": details,
            "prev_hash": prev_hash,
        }
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _timestamp(when: datetime) -> str:
    return as_utc(when).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | int,
    details: Mapping[str, Any] | None = None,
    when: datetime | None = None,
) -> AuditEntry:
    """Append one entry to the log (flushed, committed with the caller's transaction).

    ``actor`` is ``user:<id>``, ``reporter``, ``public``, ``cli`` or ``system``; ``action`` a dotted
    verb such as ``report.view`` or ``evidence.reveal``.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev = (1, GENESIS) if last is None else (last[0] + 1, last[1])
    fields = {
        "seq": seq,
        "at": _timestamp(when or utcnow()),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "details": _canonical(dict(details or {})),
        "prev_hash": prev,
    }
    entry = AuditEntry(**fields, hash=entry_hash(**fields))  # type: ignore[arg-type]
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True, slots=True)
class AuditVerification:
    """The result of :func:`verify`. ``first_bad`` is the ``seq`` of the first entry that does not
    verify (``None`` when the chain is intact) and ``problem`` says why."""

    ok: bool
    entries: int
    head: str
    first_bad: int | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head": self.head,
            "first_bad": self.first_bad,
            "problem": self.problem,
        }


def iter_entries(session: Session, *, batch: int = 1000) -> Iterator[AuditEntry]:
    """Every entry in the order it was written (by row id, which the database assigns)."""
    last_id = 0
    while True:
        rows = (
            session.execute(
                select(AuditEntry)
                .execution_options(populate_existing=True)  # what is stored, not what is cached
                .where(AuditEntry.id > last_id)
                .order_by(AuditEntry.id)
                .limit(batch)
            )
            .scalars()
            .all()
        )
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


def verify(session: Session, *, expect_head: str | None = None) -> AuditVerification:
    """Check the whole chain; stops at the first entry that does not verify."""
    prev = GENESIS
    expected_seq = 1
    count = 0
    for entry in iter_entries(session):
        count += 1
        problem = None
        if entry.seq != expected_seq:
            problem = f"sequence number {entry.seq} where {expected_seq} was expected"
        elif entry.prev_hash != prev:
            problem = "does not link to the previous entry (an entry was deleted or moved)"
        elif (
            entry_hash(
                seq=entry.seq,
                at=entry.at,
                actor=entry.actor,
                action=entry.action,
                object_type=entry.object_type,
                object_id=entry.object_id,
                details=entry.details,
                prev_hash=entry.prev_hash,
            )
            != entry.hash
        ):
            problem = "its content does not match its hash (the entry was edited)"
        if problem is not None:
            return AuditVerification(False, count, prev, first_bad=entry.seq, problem=problem)
        prev = entry.hash
        expected_seq += 1
    if expect_head is not None and expect_head != prev:
        return AuditVerification(
            False,
            count,
            prev,
            first_bad=expected_seq,
            problem="the chain does not end at the expected head (entries were removed at the end)",
        )
    return AuditVerification(True, count, prev)


def entries_for(session: Session, object_type: str, object_id: str | int) -> list[AuditEntry]:
    """The entries about one object, oldest first (for the case view and referral export)."""
    return list(
        session.execute(
            select(AuditEntry)
            .where(AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id))
            .order_by(AuditEntry.seq)
        ).scalars()
    )


def entry_to_dict(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "details": json.loads(entry.details),
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }
